package io.herd.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionLease;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.proxy.PeerGateway;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Closing the cluster while the pool still has live sessions: the lease is revoked at once, so the
 * workers must be gone at once too — not stopping gracefully while a peer claims their keys.
 */
class ClusterCloseTest {

  private ClusterFixture fixture;
  private Gateway a;
  private Gateway b;

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    // Workers that ignore SIGTERM and get a long stop timeout: a graceful stop leaves them alive.
    ProcessWorkerFactory stubborn =
        new ProcessWorkerFactory(
            ProcessWorkerConfig.builder()
                .command(TestWorkerCommand.argv("--ignore-sigterm"))
                .healthPath("/health")
                .startTimeout(Duration.ofSeconds(30))
                .stopTimeout(Duration.ofSeconds(60))
                .sandbox(SandboxConfig.none())
                .build());
    a = fixture.gateway(fixture.config("gw-a"), ClusterFixture.poolConfig(2), stubborn);
    b = fixture.gateway(fixture.config("gw-b"), 2);
    await()
        .atMost(20, TimeUnit.SECONDS)
        .until(
            () ->
                a.state() == ClusterState.CONNECTED
                    && b.state() == ClusterState.CONNECTED
                    && b.cluster.status().nodes().size() == 2);
  }

  @AfterEach
  void stop() {
    fixture.close();
  }

  @Test
  void closingTheClusterBeforeThePoolKillsTheWorkersOfItsLiveSessions() throws Exception {
    SessionLease lease = a.router.acquire("k", false).get(40, TimeUnit.SECONDS);
    long pid = lease.worker().pid().orElseThrow();
    await().atMost(10, TimeUnit.SECONDS).until(() -> b.cluster.owner("k").isPresent());

    a.cluster.close(); // the pool stays open, the session live (its lease still held)

    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> b.cluster.owner("k").isEmpty() && b.cluster.status().nodes().size() == 1);
    SessionLease onB = b.router.acquire("k", false).get(10, TimeUnit.SECONDS);
    assertThat(onB.worker()).as("B claims the released key").isNotInstanceOf(PeerGateway.class);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .untilAsserted(
            () ->
                assertThat(Processes.isAlive(pid))
                    .as("A's worker for k is gone while B serves k")
                    .isFalse());
    onB.close();
    lease.close();
  }
}
