package io.herd.cluster;

import static io.herd.cluster.ClusterRoutingTest.acquire;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import io.herd.testkit.SeverableTcpProxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway that dies without a word (its link to etcd goes silent and its workers are gone, as
 * after a SIGKILL): once its lease expires its keys are claimed anew by the gateways that get their
 * next requests, which report the sessions lost; the survivors' own sessions are never disturbed.
 */
class ClusterDeadGatewayTest {

  private ClusterFixture fixture;
  private SeverableTcpProxy link;
  private Gateway dead;
  private Gateway b;
  private Gateway c;

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    link = new SeverableTcpProxy(fixture.etcd.clientUrl());
    dead = fixture.gateway(fixture.config("gw-dead", link.url()), 8);
    b = fixture.gateway(fixture.config("gw-b"), 8);
    c = fixture.gateway(fixture.config("gw-c"), 8);
    await()
        .atMost(30, TimeUnit.SECONDS)
        .until(
            () ->
                List.of(dead, b, c).stream()
                    .allMatch(
                        g ->
                            g.state() == ClusterState.CONNECTED
                                && g.cluster.status().nodes().size() == 3));
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
  void theKeysOfADeadGatewayAreClaimedAnewAfterItsLeaseExpiresAndReportedLost() throws Exception {
    for (String key : List.of("d1", "d2", "d3")) {
      acquire(dead, key, false).close();
    }
    acquire(b, "b1", false).close();
    acquire(c, "c1", false).close();
    Map<String, String> survivorsWorkers = workers(b, c);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> b.cluster.owner("d3").isPresent() && c.cluster.owner("b1").isPresent());

    link.blackhole(); // silent: no reset, no answer, like a host that is gone
    dead.pool.close(); // its workers die with it

    // The survivors keep serving their own sessions throughout, and forward d1 to the dead
    // gateway until its lease expires (6 s): then they claim it themselves. The bound below is
    // generous on purpose; the contract is leaseTtl + a few seconds.
    await()
        .atMost(30, TimeUnit.SECONDS)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              assertThat(acquireOn(b, "b1").newSession()).isFalse();
              assertThat(acquireOn(c, "c1").newSession()).isFalse();
              SessionLease d1 = acquireOn(b, "d1");
              return !(d1.worker() instanceof PeerGateway);
            });
    SessionLease d2 = acquireOn(c, "d2");
    assertThat(d2.worker()).isNotInstanceOf(PeerGateway.class);
    assertThat(d2.newSession()).as("a lost session starts on a new worker").isTrue();

    assertThat(b.cluster.counters().sessionsLost()).isEqualTo(1);
    assertThat(c.cluster.counters().sessionsLost()).isEqualTo(1);
    assertThat(workers(b, c).entrySet()).containsAll(survivorsWorkers.entrySet());
    assertThat(b.cluster.counters().leaseLosses()).isZero();
    assertThat(c.cluster.counters().leaseLosses()).isZero();
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(
            () -> b.cluster.status().nodes().size() == 2 && c.cluster.status().nodes().size() == 2);
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> b.cluster.owner("d2").equals(Optional.of("gw-c")));
    assertThat(fixture.maxLivePerKey()).isEqualTo(1);
  }

  private static SessionLease acquireOn(Gateway g, String key) throws Exception {
    SessionLease lease = acquire(g, key, false);
    lease.close();
    return lease;
  }

  /** Session key to worker id, across the given pools. */
  private static Map<String, String> workers(Gateway... gateways) {
    return List.of(gateways).stream()
        .flatMap(g -> g.pool.sessions().stream())
        .collect(Collectors.toMap(SessionInfo::key, SessionInfo::workerId));
  }
}
