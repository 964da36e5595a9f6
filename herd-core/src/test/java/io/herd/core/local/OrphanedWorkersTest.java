package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.testkit.Processes;
import io.herd.testkit.ReadableCopy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Workers never outlive the JVM that runs their pool, even when it dies by SIGKILL. */
class OrphanedWorkersTest {

  @Test
  void workersDieWithinTwoSecondsOfTheirPoolsJvmBeingKilled() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs util-linux setpriv");
    Process host =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                PoolHostMain.class.getName(),
                "4")
            .redirectErrorStream(true)
            .start();
    List<Long> pids = new ArrayList<>();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.startsWith("pid ")) {
          pids.add(Long.parseLong(line.substring(4).trim()));
        } else if (line.equals("ready")) {
          break;
        }
      }
      assertThat(pids).as("workers the host started").hasSize(4);
      assertThat(pids).allMatch(Processes::isAlive);

      host.destroyForcibly(); // SIGKILL: no shutdown hook runs
      host.waitFor();
      long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();

      for (long pid : pids) {
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        assertThat(Processes.awaitGone(pid, left))
            .as("worker %d gone within 2 s of its pool's JVM", pid)
            .isTrue();
      }
    } finally {
      host.destroyForcibly();
      for (long pid : pids) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      host.waitFor(10, TimeUnit.SECONDS);
      ReadableCopy.deleteCopiesOf(host.pid()); // its shutdown hook never ran
    }
  }
}
