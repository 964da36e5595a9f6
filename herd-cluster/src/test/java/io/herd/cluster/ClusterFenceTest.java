package io.herd.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionLease;
import io.herd.core.testing.ScriptedWorker;
import io.herd.core.testing.ScriptedWorkerFactory;
import io.herd.proxy.RouteUnavailableException;
import io.herd.testkit.SeverableTcpProxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fence also covers what is in flight: an acquire whose worker was still starting when the
 * gateway fenced never hands out a lease — its session is ended and its worker stopped as soon as
 * it is ready. The worker's start is held by the test, so the order is deterministic.
 */
class ClusterFenceTest {

  private ClusterFixture fixture;
  private SeverableTcpProxy link;
  private ScriptedWorkerFactory workers;
  private Gateway a;

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    link = new SeverableTcpProxy(fixture.etcd.clientUrl());
    workers = new ScriptedWorkerFactory().startAtOnce(false);
    a = fixture.gateway(fixture.config("gw-a", link.url()), ClusterFixture.poolConfig(2), workers);
    await().atMost(30, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.CONNECTED);
  }

  @AfterEach
  void stop() {
    try {
      fixture.close();
    } finally {
      link.close();
    }
  }

  @Test
  void anAcquireInFlightDuringTheFenceEndsItsSessionInsteadOfServingIt() throws Exception {
    CompletableFuture<SessionLease> inFlight = a.router.acquire("k", false);
    await().atMost(10, TimeUnit.SECONDS).until(() -> workers.pendingSpawns().size() == 1);
    assertThat(a.cluster.owner("k")).as("claimed before the worker started").contains("gw-a");

    link.sever();
    await().atMost(20, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.FENCED);
    ScriptedWorker worker = workers.completeSpawn(workers.pendingSpawns().get(0));

    ExecutionException failure =
        catchThrowableOfType(ExecutionException.class, () -> inFlight.get(20, TimeUnit.SECONDS));
    assertThat(failure).as("the in-flight acquire fails").isNotNull();
    assertThat(failure.getCause()).isInstanceOf(RouteUnavailableException.class);
    await().atMost(10, TimeUnit.SECONDS).until(worker::hasExited);
    await().atMost(10, TimeUnit.SECONDS).until(() -> a.pool.sessions().isEmpty());
    assertThat(a.cluster.counters().leaseLosses()).isEqualTo(1);

    link.heal();
    await().atMost(40, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.CONNECTED);
    CompletableFuture<SessionLease> again = a.router.acquire("k", false);
    await().atMost(10, TimeUnit.SECONDS).until(() -> workers.pendingSpawns().size() == 1);
    workers.completeSpawn(workers.pendingSpawns().get(0));
    SessionLease lease = again.get(20, TimeUnit.SECONDS);
    lease.close();
    assertThat(a.cluster.counters().sessionsLost())
        .as("the session ended by the fence is reported lost when it starts anew")
        .isEqualTo(1);
  }
}
