package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The headline: many more sessions than workers, all at once. The workers here are objects in
 * front of one scripted socket server, so what is tested is the gateway's and the pool's
 * queueing, eviction and refusals under 200 concurrent connections, not how fast a loaded
 * machine starts 200 JVMs (real worker processes are the other classes' subject).
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayLoadTest {

  private static final int REQUESTS = 200;
  private static final ScriptedWorker.Handler ANSWER =
      (r, out) -> out.write(ScriptedWorker.ok("for " + r.header("X-Session-ID")));

  @Test
  void twoHundredConcurrentSessionsOnTenWorkersAllSucceedWithEvictIdleOnPressure() throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(ANSWER);
        GatewayFixture fx = new GatewayFixture(
            poolConfig().max(10).evictIdleOnPressure(true).acquireTimeout(Duration.ofSeconds(90)),
            SessionKeyRule.header("X-Session-ID"), options(), worker.factory())) {
      List<HttpResponse<String>> responses = fireAtOnce(fx, Duration.ofSeconds(120));
      Map<Integer, Long> byStatus = countByStatus(responses);
      assertThat(byStatus).as("status counts").containsExactly(Map.entry(200, (long) REQUESTS));
      assertThat(fx.pool.stats().workers()).isLessThanOrEqualTo(10);
      assertThat(fx.pool.stats().evictions()).as("sessions were evicted to make room").isPositive();
    }
  }

  @Test
  void withoutEvictionTheOverflowGets503WithRetryAfterAndNothingHangs() throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(ANSWER);
        GatewayFixture fx = new GatewayFixture(
            poolConfig().min(10).max(10).acquireTimeout(Duration.ofSeconds(1)),
            SessionKeyRule.header("X-Session-ID"), options().retryAfter(Duration.ofSeconds(2)),
            worker.factory())) {
      await().atMost(Duration.ofSeconds(60)).until(() -> fx.pool.stats().idle() == 10);
      long start = System.nanoTime();
      List<HttpResponse<String>> responses = fireAtOnce(fx, Duration.ofSeconds(30));
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;
      Map<Integer, Long> byStatus = countByStatus(responses);
      assertThat(byStatus).as("status counts").containsOnlyKeys(200, 503);
      assertThat(byStatus.get(200)).as("one per worker").isEqualTo(10);
      assertThat(byStatus.get(503)).isEqualTo(REQUESTS - 10);
      assertThat(responses).filteredOn(r -> r.statusCode() == 503)
          .allSatisfy(r -> {
            assertThat(r.headers().firstValue("retry-after")).hasValue("2");
            assertThat(r.body()).contains("no worker");
          });
      assertThat(elapsedMs).as("the overflow was refused after the 1 s acquire timeout, not left"
          + " hanging until the clients' 30 s timeout").isLessThan(25_000);
    }
  }

  @Test
  void aFullQueueIsRefusedAtOnceWith503() throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(ANSWER);
        GatewayFixture fx = new GatewayFixture(
            poolConfig().max(1).maxQueue(0).acquireTimeout(Duration.ofSeconds(60)),
            SessionKeyRule.header("X-Session-ID"), options(), worker.factory())) {
      assertThat(fx.get("/pid", "holder").statusCode()).isEqualTo(200);
      long start = System.nanoTime();
      HttpResponse<String> refused = fx.get("/pid", "newcomer");
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("retry-after")).hasValue("1");
      assertThat(refused.body()).contains("queue is full");
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("refused at once, not after the 60 s acquire timeout").isLessThan(Duration.ofSeconds(30));
    }
  }

  private static List<HttpResponse<String>> fireAtOnce(GatewayFixture fx, Duration timeout) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      HttpRequest request = HttpRequest.newBuilder(fx.uri("/pid"))
          .header("X-Session-ID", "load-" + i)
          .timeout(timeout)
          .build();
      futures.add(gate.thenCompose(v -> client.sendAsync(request, HttpResponse.BodyHandlers.ofString())));
    }
    gate.complete(null);
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .get(timeout.toMillis() + 10_000, TimeUnit.MILLISECONDS);
    List<HttpResponse<String>> responses = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> f : futures) {
      responses.add(f.get());
    }
    return responses;
  }

  private static Map<Integer, Long> countByStatus(List<HttpResponse<String>> responses) {
    return responses.stream().collect(Collectors.groupingBy(HttpResponse::statusCode, Collectors.counting()));
  }
}
