package io.herd.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.cluster.ClusterFixture.Gateway;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import io.herd.proxy.RouteUnavailableException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * First requests for the same keys racing through every gateway at once: exactly one claim wins per
 * key, the others forward to the winner, every router ends up agreeing on the owner, and no key
 * ever has live sessions in two pools at the same moment. Several rounds: fresh keys (no request
 * may fail), then the same keys again right after their sessions were ended everywhere: releases
 * race new claims, and a gateway whose cache still shows the old owner may forward there and get a
 * 503 "misdirected" that the client retries — but never a second worker.
 */
class ClusterRaceTest {

  private static final int KEYS = 200;
  private static final int ROUNDS = 3;

  private ClusterFixture fixture;
  private ExecutorService clients;

  @BeforeEach
  void start() {
    fixture = new ClusterFixture();
    clients = Executors.newFixedThreadPool(6);
  }

  @AfterEach
  void stop() throws InterruptedException {
    clients.shutdownNow();
    clients.awaitTermination(10, TimeUnit.SECONDS);
    fixture.close();
  }

  @ParameterizedTest(name = "{0} gateways")
  @ValueSource(ints = {2, 3})
  void racingFirstRequestsGiveEachKeyExactlyOneWorker(int gatewayCount) throws Exception {
    List<Gateway> gateways = new ArrayList<>();
    for (int i = 0; i < gatewayCount; i++) {
      gateways.add(fixture.gateway(fixture.config("gw-" + i), 2 * KEYS + 10));
    }
    await()
        .atMost(30, TimeUnit.SECONDS)
        .until(
            () ->
                gateways.stream()
                    .allMatch(
                        g ->
                            g.state() == ClusterState.CONNECTED
                                && g.cluster.status().nodes().size() == gatewayCount));

    for (int round = 0; round < ROUNDS; round++) {
      String prefix = round == 2 ? "r1-" : "r" + round + "-"; // round 2 reuses round 1's keys
      int retried = race(gateways, prefix);
      if (round < 2) {
        assertThat(retried).as("503s in round %d, with fresh keys", round).isZero();
      }
      assertThat(fixture.maxLivePerKey())
          .as("most pools with a live session of one key at once, after round %d", round)
          .isEqualTo(1);
      if (round == 1) {
        // End everything everywhere and race the same keys at once: releases meet new claims.
        for (Gateway g : gateways) {
          for (SessionInfo s : g.pool.sessions()) {
            g.pool.end(s.key());
          }
        }
      }
    }
    long conflicts = gateways.stream().mapToLong(g -> g.cluster.counters().claimConflicts()).sum();
    long claims = gateways.stream().mapToLong(g -> g.cluster.counters().claims()).sum();
    assertThat(claims).as("claims won").isGreaterThanOrEqualTo(2L * KEYS);
    assertThat(conflicts + gateways.stream().mapToLong(g -> g.cluster.counters().forwarded()).sum())
        .as("claims lost or forwarded")
        .isGreaterThan(0);
  }

  /**
   * Every gateway acquires every key at once, as the data plane would: a lease on a peer is
   * followed by that peer's {@code acquire(key, forwarded=true)} (the hop), and a 503 anywhere is
   * retried like a client would. Then checks one serving node per key, agreed by all.
   *
   * @return how many requests were answered 503 and retried
   */
  private int race(List<Gateway> gateways, String prefix) throws Exception {
    Map<String, Gateway> byNode = new HashMap<>();
    gateways.forEach(g -> byNode.put(g.node, g));
    AtomicInteger retried = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    Map<String, List<CompletableFuture<String>>> servedBy = new HashMap<>();
    for (int k = 0; k < KEYS; k++) {
      String key = prefix + "k" + k;
      List<CompletableFuture<String>> perKey = new ArrayList<>();
      servedBy.put(key, perKey);
      for (Gateway g : gateways) {
        perKey.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    go.await();
                    return serve(g, key, byNode, retried);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                  }
                },
                clients));
      }
    }
    go.countDown();

    Map<String, String> ownerOf = new HashMap<>();
    for (Map.Entry<String, List<CompletableFuture<String>>> e : servedBy.entrySet()) {
      List<String> nodes = new ArrayList<>();
      for (CompletableFuture<String> f : e.getValue()) {
        nodes.add(f.get(60, TimeUnit.SECONDS));
      }
      assertThat(nodes)
          .as("the node that served %s for each gateway", e.getKey())
          .containsOnly(nodes.get(0));
      ownerOf.put(e.getKey(), nodes.get(0));
    }
    for (Gateway g : gateways) {
      long local = g.pool.sessions().stream().filter(s -> s.key().startsWith(prefix)).count();
      long owned = ownerOf.values().stream().filter(g.node::equals).count();
      assertThat(local).as("sessions in %s's pool", g).isEqualTo(owned);
    }
    await()
        .atMost(20, TimeUnit.SECONDS)
        .untilAsserted(
            () -> {
              for (Gateway g : gateways) {
                for (Map.Entry<String, String> e : ownerOf.entrySet()) {
                  assertThat(g.cluster.owner(e.getKey()))
                      .as("owner of %s according to %s", e.getKey(), g)
                      .isEqualTo(Optional.of(e.getValue()));
                }
              }
            });
    return retried.get();
  }

  /** One client request for {@code key} through {@code g}: the node whose worker served it. */
  private static String serve(
      Gateway g, String key, Map<String, Gateway> byNode, AtomicInteger retried) {
    for (int attempt = 0; ; attempt++) {
      try {
        SessionLease lease = g.router.acquire(key, false).get(60, TimeUnit.SECONDS);
        Gateway server = g;
        if (lease.worker() instanceof PeerGateway peer) {
          lease.close();
          server = byNode.get(peer.node());
          lease = server.router.acquire(key, true).get(60, TimeUnit.SECONDS); // the hop
          assertThat(lease.worker())
              .as("a forwarded request is served locally")
              .isNotInstanceOf(PeerGateway.class);
        }
        lease.close();
        return server.node;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RouteUnavailableException) || attempt >= 20) {
          throw new AssertionError(
              "request for " + key + " through " + g + " failed", e.getCause());
        }
        retried.incrementAndGet(); // a 503: the client retries
        sleepQuietly(50);
      } catch (InterruptedException | TimeoutException e) {
        throw new AssertionError(e);
      }
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
