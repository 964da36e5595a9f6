package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.Processes;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ParentDeathSignalTest {

  @Test
  void wrapsCommandsInSetprivWhenAvailable() {
    ParentDeathSignal signal = ParentDeathSignal.detect();
    org.junit.jupiter.api.Assumptions.assumeTrue(signal.available(), "setpriv --pdeathsig");

    org.junit.jupiter.api.Assumptions.assumeTrue(signal.setsid().isPresent(), "setsid");

    assertThat(signal.wrap(List.of("app", "--flag")))
        .containsExactly(signal.setpriv().orElseThrow().toString(), "--pdeathsig", "KILL", "--",
            signal.setsid().orElseThrow().toString(), "--", "app", "--flag");
  }

  /**
   * A terminal's Ctrl-C goes to its whole foreground process group: a worker started through the
   * fallback must lead a session (and process group) of its own, with the pid the JVM started,
   * so that the group's SIGINT reaches only the gateway.
   */
  @Test
  void wrappedWorkerLeadsASessionOfItsOwnWithThePidTheJvmStarted() throws Exception {
    ParentDeathSignal signal = ParentDeathSignal.detect();
    org.junit.jupiter.api.Assumptions.assumeTrue(signal.setsid().isPresent(), "setsid");
    // Prints "<session id> <process group id>" of the worker itself, read from /proc.
    Process worker = new ProcessBuilder(signal.wrap(List.of("/bin/sh", "-c",
        "set -- $(sed 's/.*) //' /proc/$$/stat); echo $4 $3")))
        .redirectErrorStream(true)
        .start();
    try {
      String out = new String(worker.getInputStream().readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8).trim();
      assertThat(worker.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(worker.exitValue()).as(out).isZero();
      long pid = worker.pid();
      assertThat(out).isEqualTo(pid + " " + pid);
      assertThat(pid).isNotEqualTo(ProcessHandle.current().pid());
    } finally {
      worker.destroyForcibly();
      Processes.awaitGone(worker.pid(), Duration.ofSeconds(5));
    }
  }

  /**
   * The premise of {@link ProcessLauncherThread}: the signal follows the forking thread, not the
   * JVM. Should a JDK ever fork from a different thread, this test says so.
   */
  @Test
  void signalFiresWhenTheThreadThatForkedTheChildEnds() throws Exception {
    ParentDeathSignal signal = ParentDeathSignal.detect();
    org.junit.jupiter.api.Assumptions.assumeTrue(signal.available(), "setpriv --pdeathsig");
    AtomicReference<Process> child = new AtomicReference<>();
    Thread shortLived = new Thread(() -> {
      try {
        Process process = new ProcessBuilder(signal.wrap(List.of("sleep", "30"))).start();
        child.set(process);
        // End only once setpriv has set the signal and exec'd sleep: were this thread gone
        // before, the child would be re-parented first and the signal tied to another thread.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!process.info().command().orElse("").endsWith("sleep")
            && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "short-lived-forker");

    try {
      shortLived.start();
      shortLived.join(5000);

      assertThat(child.get()).isNotNull();
      assertThat(child.get().waitFor(5, TimeUnit.SECONDS))
          .as("the child died with the thread that forked it, although the JVM lives on")
          .isTrue();
      assertThat(child.get().exitValue()).isEqualTo(128 + 9);
    } finally {
      if (child.get() != null) {
        child.get().destroyForcibly();
        Processes.awaitGone(child.get().pid(), Duration.ofSeconds(5));
      }
    }
  }

  @Test
  void unavailableLeavesCommandsAlone() {
    assertThat(ParentDeathSignal.unavailable().wrap(List.of("app"))).containsExactly("app");
  }
}
