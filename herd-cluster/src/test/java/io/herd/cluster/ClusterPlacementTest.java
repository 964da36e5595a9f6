package io.herd.cluster;

import static io.herd.cluster.ClusterRoutingTest.acquire;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Placement: each gateway publishes its free capacity; a new session starts where it was asked for
 * while that pool has room, otherwise on the peer with the most room, and otherwise queues.
 */
class ClusterPlacementTest {

  private ClusterFixture fixture;
  private Gateway full;
  private Gateway roomy;
  private Gateway roomier;

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    full = fixture.gateway(fixture.config("gw-full"), 1);
    roomy = fixture.gateway(fixture.config("gw-roomy"), 2);
    roomier = fixture.gateway(fixture.config("gw-roomier"), 5);
    await()
        .atMost(30, TimeUnit.SECONDS)
        .until(
            () ->
                full.state() == ClusterState.CONNECTED
                    && full.cluster.status().nodes().size() == 3
                    && free(full, "gw-roomier") == 5);
  }

  @AfterEach
  void stop() {
    fixture.close();
  }

  @Test
  void aFullPoolPlacesANewSessionOnThePeerWithTheMostRoom() throws Exception {
    SessionLease busy = acquire(full, "first", false); // the only worker, held busy
    assertThat(busy.worker()).isNotInstanceOf(PeerGateway.class);
    await().atMost(10, TimeUnit.SECONDS).until(() -> free(full, "gw-full") == 0);

    SessionLease placed = acquire(full, "second", false);
    assertThat(placed.worker()).isInstanceOf(PeerGateway.class);
    assertThat(((PeerGateway) placed.worker()).node()).isEqualTo("gw-roomier");
    placed.close();
    assertThat(roomier.pool.sessions()).as("claimed for the peer, not yet started there").isEmpty();

    // The forwarded request arrives at the peer, which takes the claim over under its own lease.
    SessionLease served = acquire(roomier, "second", true);
    assertThat(served.worker()).isNotInstanceOf(PeerGateway.class);
    served.close();
    assertThat(roomier.pool.sessions()).extracting(s -> s.key()).containsExactly("second");
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () ->
                full.cluster.owner("second").equals(Optional.of("gw-roomier"))
                    && roomy.cluster.owner("second").equals(Optional.of("gw-roomier")));
    assertThat(full.cluster.counters().claims()).isEqualTo(2);
    busy.close();
  }

  @Test
  void aForwardedRequestIsServedByTheReceiverEvenWhenItIsFull() throws Exception {
    SessionLease busy = acquire(full, "first", false);
    await().atMost(10, TimeUnit.SECONDS).until(() -> free(full, "gw-full") == 0);
    // Forwarded: never placed elsewhere (at most one hop); it queues in the full pool.
    var queued = full.router.acquire("forwarded", true);
    await().atMost(10, TimeUnit.SECONDS).until(() -> full.pool.stats().queued() == 1);
    assertThat(full.cluster.owner("forwarded")).contains("gw-full");
    busy.close();
    full.pool.end("first");
    SessionLease served = queued.get(20, TimeUnit.SECONDS);
    assertThat(served.worker()).isNotInstanceOf(PeerGateway.class);
    served.close();
  }

  @Test
  void withNoRoomAnywhereANewSessionQueuesWhereItWasAskedFor() throws Exception {
    SessionLease busy = acquire(full, "first", false);
    SessionLease r1 = acquire(roomy, "r1", false);
    SessionLease r2 = acquire(roomy, "r2", false);
    SessionLease[] big = new SessionLease[5];
    for (int i = 0; i < 5; i++) {
      big[i] = acquire(roomier, "big" + i, false);
    }
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () ->
                free(full, "gw-roomy") == 0
                    && free(full, "gw-roomier") == 0
                    && free(full, "gw-full") == 0);
    var queued = full.router.acquire("waits", false);
    await().atMost(10, TimeUnit.SECONDS).until(() -> full.pool.stats().queued() == 1);
    busy.close();
    full.pool.end("first");
    SessionLease served = queued.get(20, TimeUnit.SECONDS);
    assertThat(served.worker()).isNotInstanceOf(PeerGateway.class);
    served.close();
    r1.close();
    r2.close();
    for (SessionLease l : big) {
      l.close();
    }
  }

  @Test
  void cancellingAQueuedAcquireWithdrawsItAndReleasesTheClaim() throws Exception {
    SessionLease busy = acquire(full, "first", false);
    await().atMost(10, TimeUnit.SECONDS).until(() -> free(full, "gw-full") == 0);
    var queued = full.router.acquire("given-up", true);
    await().atMost(10, TimeUnit.SECONDS).until(() -> full.pool.stats().queued() == 1);
    assertThat(queued.cancel(false)).isTrue();
    await().atMost(10, TimeUnit.SECONDS).until(() -> full.pool.stats().queued() == 0);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () ->
                roomier.cluster.owner("given-up").isEmpty()
                    && full.cluster.owner("given-up").isEmpty());
    busy.close();
  }

  /** The free capacity of {@code node} as {@code viewer} sees it. */
  private static int free(Gateway viewer, String node) {
    return viewer.cluster.status().nodes().stream()
        .filter(n -> n.node().equals(node))
        .mapToInt(ClusterNode::free)
        .findFirst()
        .orElse(-1);
  }
}
