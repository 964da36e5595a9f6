package io.herd.cluster;

import static io.herd.cluster.ClusterRoutingTest.acquire;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import io.herd.proxy.RouteUnavailableException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * etcd going away: sessions owned locally keep working, new sessions are refused with a retry hint,
 * the gateway reports DEGRADED, and everything recovers by itself when etcd is back — provided the
 * outage is shorter than the fence window (here a 20 s lease, fenced 10 s after the last
 * acknowledged renewal, so a restart on a busy machine stays well inside it).
 */
class ClusterEtcdOutageTest {

  private ClusterFixture fixture;

  @AfterEach
  void stop() {
    fixture.close();
  }

  private ClusterConfig.Builder longLease(String node) {
    return fixture
        .config(node)
        .leaseTtl(Duration.ofSeconds(20))
        .fenceMargin(Duration.ofSeconds(10))
        .requestTimeout(Duration.ofSeconds(1));
  }

  @Test
  void anEtcdRestartLeavesLocalSessionsServedAndRecoversByItself() throws Exception {
    fixture = new ClusterFixture();
    Gateway a = fixture.gateway(longLease("gw-a"), 4);
    Gateway b = fixture.gateway(longLease("gw-b"), 4);
    await()
        .atMost(30, TimeUnit.SECONDS)
        .until(() -> a.state() == ClusterState.CONNECTED && b.cluster.status().nodes().size() == 2);
    SessionLease first = acquire(a, "kept", false);
    String worker = first.worker().id();
    first.close();

    fixture.etcd.stop();

    SessionLease during = acquire(a, "kept", false);
    assertThat(during.worker().id()).as("a local session is served without etcd").isEqualTo(worker);
    during.close();
    assertThatThrownBy(() -> acquire(a, "new-during-outage", false))
        .isInstanceOf(RouteUnavailableException.class)
        .hasMessageContaining("etcd")
        .satisfies(
            e ->
                assertThat(((RouteUnavailableException) e).retryAfter())
                    .isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2)));
    await().atMost(10, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.DEGRADED);
    SessionLease stillServed = acquire(a, "kept", false);
    assertThat(stillServed.worker().id()).isEqualTo(worker);
    stillServed.close();

    fixture.etcd.start();

    await()
        .atMost(20, TimeUnit.SECONDS)
        .until(() -> a.state() == ClusterState.CONNECTED && b.state() == ClusterState.CONNECTED);
    SessionLease after = acquire(a, "kept", false);
    assertThat(after.worker().id()).isEqualTo(worker);
    after.close();
    SessionLease fresh = acquire(a, "new-after-outage", false);
    assertThat(fresh.worker()).isNotInstanceOf(PeerGateway.class);
    fresh.close();
    await()
        .atMost(20, TimeUnit.SECONDS)
        .untilAsserted(
            () -> {
              SessionLease viaB = acquire(b, "kept", false);
              viaB.close();
              assertThat(viaB.worker())
                  .as("b's view recovered: it forwards a's session")
                  .isInstanceOf(PeerGateway.class);
            });
    assertThat(a.cluster.counters().leaseLosses()).isZero();
    assertThat(b.cluster.counters().leaseLosses()).isZero();
  }

  @Test
  void aGatewayStartedWhileEtcdIsDownIsDegradedUntilEtcdStarts() throws Exception {
    fixture = new ClusterFixture(false);
    Gateway a = fixture.gateway(fixture.config("gw-a"), 4);
    assertThat(a.state()).isEqualTo(ClusterState.DEGRADED);
    assertThatThrownBy(() -> acquire(a, "early", false))
        .isInstanceOf(RouteUnavailableException.class)
        .hasMessageContaining("not joined");
    assertThat(a.cluster.status().nodes()).isEmpty();

    fixture.etcd.start();

    await().atMost(30, TimeUnit.SECONDS).until(() -> a.state() == ClusterState.CONNECTED);
    assertThat(a.cluster.status().nodes()).extracting(ClusterNode::node).containsExactly("gw-a");
    SessionLease lease = acquire(a, "early", false);
    assertThat(lease.worker()).isNotInstanceOf(PeerGateway.class);
    lease.close();
  }
}
