package io.herd.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import io.herd.proxy.RouteUnavailableException;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two gateways on one real etcd: local, forwarded, misdirected, released and re-claimed. */
class ClusterRoutingTest {

  private ClusterFixture fixture;
  private Gateway a;
  private Gateway b;

  @BeforeEach
  void startTwoGateways() {
    fixture = new ClusterFixture();
    a = fixture.gateway(fixture.config("gw-a"), 4);
    b = fixture.gateway(fixture.config("gw-b"), 4);
    awaitBothSeeBoth();
  }

  @AfterEach
  void closeAll() {
    fixture.close();
  }

  @Test
  void aKeyIsServedLocallyByItsOwnerAndForwardedByTheOther() throws Exception {
    SessionLease onA = acquire(a, "alice", false);
    assertThat(onA.worker()).as("the claimer serves locally").isNotInstanceOf(PeerGateway.class);
    assertThat(onA.newSession()).isTrue();

    await().atMost(10, TimeUnit.SECONDS).until(() -> b.cluster.owner("alice").isPresent());
    SessionLease onB = acquire(b, "alice", false);
    assertThat(onB.worker()).isInstanceOf(PeerGateway.class);
    assertThat(((PeerGateway) onB.worker()).node()).isEqualTo("gw-a");
    ClusterNode aSelf =
        a.cluster.status().nodes().stream().filter(ClusterNode::self).findFirst().orElseThrow();
    assertThat(onB.worker().address()).isEqualTo(aSelf.advertise());
    onB.close();
    onA.close();

    assertThat(a.cluster.owner("alice")).contains("gw-a");
    assertThat(b.cluster.owner("alice")).contains("gw-a");
    assertThat(b.pool.sessions()).isEmpty();
    assertThat(a.cluster.counters().claims()).isEqualTo(1);
    assertThat(b.cluster.counters().forwarded()).isEqualTo(1);
    assertThat(a.cluster.directory().lookup("alice").orElseThrow().owner()).isEqualTo("gw-a");
    // The claim records the worker too, once a's pool bound one; b sees it through its watch.
    String workerOnA = a.cluster.directory().lookup("alice").orElseThrow().workerId();
    assertThat(workerOnA).isEqualTo(onA.worker().id());
    await()
        .atMost(10, TimeUnit.SECONDS)
        .untilAsserted(
            () ->
                assertThat(b.cluster.directory().lookup("alice").orElseThrow().workerId())
                    .isEqualTo(workerOnA));
    assertThat(b.cluster.directory().size()).isEqualTo(1);
  }

  @Test
  void theOwnerIsFoundByTheClaimEvenBeforeTheWatchShowsIt() throws Exception {
    acquire(a, "bob", false).close();
    // Straight away, whatever b's cache says: the claim transaction finds gw-a's claim.
    SessionLease onB = acquire(b, "bob", false);
    assertThat(onB.worker()).isInstanceOf(PeerGateway.class);
    assertThat(b.pool.sessions()).isEmpty();
  }

  @Test
  void aForwardedRequestForAKeyOwnedElsewhereIsRefusedNotForwardedAgain() throws Exception {
    acquire(a, "carol", false).close();
    assertThatThrownBy(() -> acquire(b, "carol", true))
        .isInstanceOf(RouteUnavailableException.class)
        .hasMessageContaining("misdirected")
        .hasMessageContaining("gw-a");
    assertThat(b.pool.sessions()).isEmpty();
    assertThat(b.cluster.counters().claimConflicts()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aForwardedRequestForAFreeKeyIsClaimedByTheReceiver() throws Exception {
    SessionLease lease = acquire(b, "dave", true);
    assertThat(lease.worker()).isNotInstanceOf(PeerGateway.class);
    lease.close();
    assertThat(b.cluster.owner("dave")).contains("gw-b");
  }

  @Test
  void endingASessionReleasesItsClaimSoAnotherGatewayCanClaimIt() throws Exception {
    acquire(a, "erin", false).close();
    assertThat(a.pool.end("erin")).isTrue();
    await().atMost(10, TimeUnit.SECONDS).until(() -> b.cluster.owner("erin").isEmpty());

    SessionLease onB = acquire(b, "erin", false);
    assertThat(onB.worker()).isNotInstanceOf(PeerGateway.class);
    onB.close();
    assertThat(b.cluster.owner("erin")).contains("gw-b");
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> a.cluster.owner("erin").equals(Optional.of("gw-b")));
    assertThat(a.pool.sessions()).isEmpty();
    assertThat(fixture.maxLivePerKey()).isEqualTo(1);
  }

  @Test
  void aLocalSessionIsServedAgainWithoutANewClaim() throws Exception {
    acquire(a, "frank", false).close();
    SessionLease again = acquire(a, "frank", false);
    assertThat(again.newSession()).isFalse();
    again.close();
    assertThat(a.cluster.counters().claims()).isEqualTo(1);
  }

  @Test
  void aGatewayThatLeavesReleasesItsClaimsAtOnceAndNothingIsReportedLost() throws Exception {
    acquire(a, "gina", false).close();
    await().atMost(10, TimeUnit.SECONDS).until(() -> b.cluster.owner("gina").isPresent());
    a.close();
    a.cluster.close(); // idempotent
    assertThat(a.state()).isEqualTo(ClusterState.FENCED);
    assertThatThrownBy(() -> acquire(a, "gina", false))
        .isInstanceOf(RouteUnavailableException.class);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> b.cluster.status().nodes().size() == 1 && b.cluster.owner("gina").isEmpty());
    SessionLease onB = acquire(b, "gina", false);
    assertThat(onB.worker()).isNotInstanceOf(PeerGateway.class);
    onB.close();
    assertThat(b.cluster.counters().sessionsLost()).isZero();
  }

  private void awaitBothSeeBoth() {
    await()
        .atMost(20, TimeUnit.SECONDS)
        .until(
            () ->
                a.state() == ClusterState.CONNECTED
                    && b.state() == ClusterState.CONNECTED
                    && a.cluster.status().nodes().size() == 2
                    && b.cluster.status().nodes().size() == 2);
  }

  static SessionLease acquire(Gateway g, String key, boolean forwarded) throws Exception {
    try {
      return g.router.acquire(key, forwarded).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }
}
