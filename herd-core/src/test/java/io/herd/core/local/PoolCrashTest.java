package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.core.SessionLease;
import io.herd.core.WorkerStartException;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A dead worker costs only its own session; the pool refills and reports it once. */
class PoolCrashTest {

  @Test
  void killingAPinnedWorkerEndsOnlyItsSessionOnce() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().min(2).max(4))) {
      SessionLease victim = f.acquire("victim");
      SessionLease bystander = f.acquire("bystander");
      long victimPid = victim.worker().pid().orElseThrow(); // herd-launch: the worker's parent
      long victimServer = PoolFixture.pidOf(victim);
      long bystanderServer = PoolFixture.pidOf(bystander);
      victim.close();

      ProcessHandle.of(victimPid).orElseThrow().destroyForcibly(); // SIGKILL

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> f.events.count("sessionEnded", "CRASHED") == 1);
      assertThat(f.events.count("workerCrashed")).isEqualTo(1);
      assertThat(f.events.of("workerCrashed").get(0).detail()).contains("exit code");
      try (SessionLease again = f.acquire("victim")) {
        assertThat(again.newSession()).isTrue();
        assertThat(PoolFixture.pidOf(again)).isNotEqualTo(victimServer);
      }
      assertThat(PoolFixture.pidOf(bystander)).as("other session untouched")
          .isEqualTo(bystanderServer);
      bystander.close();
      await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.stats().workers() >= 2);
      // Reported exactly once: still one of each after half a second more.
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  f.events.count("sessionEnded", "CRASHED") == 1
                      && f.events.count("workerCrashed") == 1);
      assertThat(f.pool.stats().crashes()).isEqualTo(1);
    }
  }

  @Test
  void aWorkerThatFailsItsHealthChecksIsRemovedAsCrashed() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().healthFailures(2))) {
      SessionLease lease = f.acquire("sick");
      long pid = lease.worker().pid().orElseThrow();
      PoolFixture.get(lease, "/fail-health");
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> f.events.count("sessionEnded", "CRASHED") == 1);
      assertThat(f.events.of("workerCrashed"))
          .singleElement()
          .satisfies(e -> assertThat(e.detail()).contains("health checks"));
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(10))).isTrue();
      lease.close();
    }
  }

  @Test
  void aWorkerThatHangsIsRemovedAfterItsHealthTimeouts() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().healthFailures(2))) {
      SessionLease lease = f.acquire("hung");
      PoolFixture.get(lease, "/hang");
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> f.events.count("sessionEnded", "CRASHED") == 1);
      lease.close();
    }
  }

  @Test
  void aMissingBinaryFailsTheAcquireWithAClearError() {
    try (PoolFixture f =
        new PoolFixture(PoolFixture.config(), List.of("/nonexistent/herd-worker", "{{port}}"))) {
      assertThatThrownBy(() -> f.acquire("x"))
          .isInstanceOf(WorkerStartException.class)
          .hasMessageContaining("/nonexistent/herd-worker");
      assertThat(f.events.count("spawnFailed")).isGreaterThanOrEqualTo(1);
      assertThat(f.pool.sessions()).isEmpty();
    }
  }

  @Test
  void aWorkerThatExitsAtStartFailsTheAcquireWithItsStderr() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config(), "--exit-at-start", "3")) {
      assertThatThrownBy(() -> f.acquire("x"))
          .isInstanceOf(WorkerStartException.class)
          .hasMessageContaining("boom: bad config")
          .hasMessageContaining("3");
    }
  }

  @Test
  void aWorkerThatNeverGetsHealthyTimesOutAndLeavesNoProcess() throws Exception {
    try (PoolFixture g =
        new PoolFixture(
            PoolFixture.config(),
            Duration.ofSeconds(2),
            TestWorkerCommand.argv("--never-healthy"))) {
      assertThatThrownBy(() -> g.acquire("x"))
          .isInstanceOf(WorkerStartException.class)
          .hasMessageContaining("/health");
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () ->
                  assertThat(Processes.descendantsOf(ProcessHandle.current()))
                      .as("the unhealthy worker was killed")
                      .noneMatch(
                          p -> p.info().commandLine().orElse("").contains("--never-healthy")));
    }
  }
}
