package io.herd.cluster;

import static io.herd.cluster.ClusterRoutingTest.acquire;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.PoolListener;
import io.herd.core.SessionLease;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.proxy.PeerGateway;
import io.herd.proxy.RouteUnavailableException;
import io.herd.testkit.Processes;
import io.herd.testkit.SeverableTcpProxy;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway cut off from etcd (through a proxy the test severs) fences itself: its worker exits
 * strictly before another gateway manages to claim the key, it refuses requests while fenced, and
 * it rejoins by itself when the link heals. Real worker processes.
 */
class ClusterPartitionTest {

  private ClusterFixture fixture;
  private SeverableTcpProxy link;
  private Gateway a;
  private Gateway b;
  private final Map<String, Long> workerExitedAt = new ConcurrentHashMap<>();

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    link = new SeverableTcpProxy(fixture.etcd.clientUrl());
    a = fixture.processGateway(fixture.config("gw-a", link.url()), 2);
    b = fixture.processGateway(fixture.config("gw-b"), 2);
    a.pool.addListener(
        new PoolListener() {
          @Override
          public void workerStopped(Worker worker, WorkerExit exit) {
            workerExitedAt.putIfAbsent(worker.id(), System.nanoTime());
          }

          @Override
          public void workerCrashed(Worker worker, WorkerExit exit) {
            workerExitedAt.putIfAbsent(worker.id(), System.nanoTime());
          }
        });
    await()
        .atMost(30, TimeUnit.SECONDS)
        .until(
            () ->
                a.state() == ClusterState.CONNECTED
                    && b.state() == ClusterState.CONNECTED
                    && b.cluster.status().nodes().size() == 2);
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
  void aCutOffGatewayStopsItsWorkerBeforeAnyoneElseCanClaimItsKey() throws Exception {
    SessionLease lease = acquire(a, "k", false);
    Worker worker = lease.worker();
    long pid = worker.pid().orElseThrow();
    lease.close();
    await().atMost(10, TimeUnit.SECONDS).until(() -> b.cluster.owner("k").isPresent());

    link.sever();

    // B asks for the key over and over, as clients would; the first time B serves it itself, the
    // claim was sent after claimedAt (read before each request, on the same clock as the exits).
    long claimedAt = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
    boolean sawFenced = false;
    while (claimedAt == 0 && System.nanoTime() < deadline) {
      if (!sawFenced && a.state() == ClusterState.FENCED) {
        sawFenced = true;
        assertThatThrownBy(() -> acquire(a, "k", false))
            .as("a fenced gateway refuses its own sessions")
            .isInstanceOf(RouteUnavailableException.class)
            .hasMessageContaining("fenced");
        assertThatThrownBy(() -> acquire(a, "new-key", false))
            .isInstanceOf(RouteUnavailableException.class);
      }
      long before = System.nanoTime();
      try {
        SessionLease onB = acquire(b, "k", false);
        if (!(onB.worker() instanceof PeerGateway)) {
          claimedAt = before;
        }
        onB.close();
      } catch (RouteUnavailableException e) {
        // the owner is not known yet, or etcd is busy: retry
      }
      Thread.sleep(50);
    }
    assertThat(claimedAt).as("B claimed the key within the lease TTL and a bit").isNotZero();
    assertThat(workerExitedAt).as("A's worker exited").containsKey(worker.id());
    assertThat(workerExitedAt.get(worker.id()))
        .as("A's worker exit, in ns on the test's clock, is before B's claim was sent")
        .isLessThan(claimedAt);
    assertThat(Processes.isAlive(pid)).isFalse();
    assertThat(sawFenced || a.state() == ClusterState.FENCED).isTrue();
    assertThat(a.cluster.counters().leaseLosses()).isEqualTo(1);
    assertThat(b.cluster.counters().sessionsLost()).as("B reports the session lost").isEqualTo(1);
    assertThat(fixture.maxLivePerKey()).isEqualTo(1);

    link.heal();
    await().atMost(40, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.CONNECTED);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> a.cluster.owner("k").equals(Optional.of("gw-b")));
    SessionLease again = acquire(a, "k", false);
    assertThat(again.worker())
        .as("A now forwards the key to its new owner")
        .isInstanceOf(PeerGateway.class);
    again.close();
    SessionLease fresh = acquire(a, "after-heal", false);
    assertThat(fresh.worker()).isNotInstanceOf(PeerGateway.class);
    fresh.close();
  }
}
