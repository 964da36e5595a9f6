package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.Processes;
import io.herd.testkit.ReadableCopy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers never outlive their JVM, even one killed with SIGKILL: no shutdown hook runs then, only
 * the kernel's parent-death signal set by herd-launch.
 */
class ProcessWorkerFactoryJvmDeathTest {

  @Test
  void workersDieWithinTwoSecondsOfTheirJvmBeingSigkilled(@TempDir Path dir) throws Exception {
    assertThat(io.herd.core.sandbox.LauncherBinary.detect().path())
        .as("herd-launch could be extracted; without it the guarantee rests on setpriv")
        .isPresent();
    List<String> command = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        WorkerHostMain.class.getName(), "2");
    Process host = new ProcessBuilder(command)
        .redirectError(dir.resolve("host-stderr.log").toFile())
        .start();
    List<Long> workerPids = new ArrayList<>();
    try {
      workerPids.addAll(readWorkerPids(host));
      assertThat(workerPids).hasSize(2).allMatch(Processes::isAlive);

      host.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs in the host
      assertThat(host.waitFor(10, TimeUnit.SECONDS)).isTrue();

      for (long pid : workerPids) {
        assertThat(Processes.awaitGone(pid, Duration.ofSeconds(2)))
            .as("worker %d is gone within 2 s of its JVM's death", pid)
            .isTrue();
      }
    } finally {
      host.destroyForcibly();
      workerPids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      host.waitFor(10, TimeUnit.SECONDS);
      ReadableCopy.deleteCopiesOf(host.pid()); // its shutdown hook never ran
    }
  }

  private static List<Long> readWorkerPids(Process host) throws Exception {
    CompletableFuture<List<Long>> pids = CompletableFuture.supplyAsync(() -> {
      List<Long> found = new ArrayList<>();
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = out.readLine()) != null && !line.equals("ready")) {
          if (line.startsWith("worker-pid ")) {
            found.add(Long.parseLong(line.substring("worker-pid ".length()).trim()));
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return found;
    });
    return pids.get(60, TimeUnit.SECONDS);
  }
}
