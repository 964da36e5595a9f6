package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.sandbox.CgroupLayout.Controller;
import io.herd.core.sandbox.CgroupLayout.Hierarchy;
import io.herd.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the next gateway's sweep does with the cgroup of a dead gateway's worker. Needs root and a
 * writable pids hierarchy (skipped with the reason otherwise); every cgroup and process it makes
 * is removed.
 */
class StaleSandboxSweepTest {

  @Test
  void aSweptCgroupsLeftoverProcessesAreKilledSoTheyDoNotOutliveTheirGatewayForever()
      throws Exception {
    assumeTrue(HostSupport.detect().root(), "skipped: creating cgroups needs root");
    Optional<Path> parent = CgroupLayout.detect(Optional.empty()).hierarchy(Controller.PIDS)
        .map(Hierarchy::parent).filter(Files::isWritable);
    assumeTrue(parent.isPresent(), "skipped: no writable pids cgroup hierarchy");

    // A gateway pid that no longer runs: the cgroup looks like one a SIGKILLed gateway left.
    Process gone = new ProcessBuilder("true").start();
    assertThat(gone.waitFor(10, TimeUnit.SECONDS)).isTrue();
    Path cgroup = parent.get().resolve("herd-" + gone.pid() + "-1-w-1");
    // What a worker `sh -c "python3 app.py"` without a PID namespace leaves: the shell died of
    // its parent-death signal, its child lives on in the worker's cgroup.
    Process leftover = new ProcessBuilder("sleep", "600").start();
    try {
      Files.createDirectory(cgroup);
      Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(leftover.pid()));

      List<String> removed = StaleSandboxSweep.sweep(List.of(parent.get()), null, null, null);

      assertThat(Processes.awaitGone(leftover.pid(), Duration.ofSeconds(10)))
          .as("the dead gateway's leftover process is killed by the next gateway's sweep")
          .isTrue();
      assertThat(removed).contains("cgroup " + cgroup);
      assertThat(cgroup).doesNotExist();
    } finally {
      leftover.destroyForcibly();
      leftover.waitFor(10, TimeUnit.SECONDS);
      for (int i = 0; i < 100 && Files.exists(cgroup); i++) {
        try {
          Files.deleteIfExists(cgroup);
        } catch (java.io.IOException e) {
          TimeUnit.MILLISECONDS.sleep(50);
        }
      }
    }
  }
}
