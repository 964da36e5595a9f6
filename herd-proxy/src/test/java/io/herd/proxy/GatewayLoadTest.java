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

/** The headline: many more sessions than workers, all at once. */
@ExtendWith(LeakCheckExtension.class)
class GatewayLoadTest {

  private static final int REQUESTS = 200;

  @Test
  void twoHundredConcurrentSessionsOnTenWorkersAllSucceedWithEvictIdleOnPressure() throws Exception {
    // reuse: the test is about queueing and eviction in front of ten workers; with the default
    // (a fresh process per session) it would be 200 JVM cold starts on a 2-core machine.
    try (GatewayFixture fx = new GatewayFixture(
        poolConfig().max(10).reuse(true).evictIdleOnPressure(true)
            .acquireTimeout(Duration.ofSeconds(90)),
        SessionKeyRule.header("X-Session-ID"), options())) {
      List<HttpResponse<String>> responses = fireAtOnce(fx, Duration.ofSeconds(120));
      Map<Integer, Long> byStatus = countByStatus(responses);
      assertThat(byStatus).as("status counts").containsExactly(Map.entry(200, (long) REQUESTS));
      assertThat(fx.pool.stats().workers()).isLessThanOrEqualTo(10);
      assertThat(fx.pool.stats().evictions()).as("sessions were evicted to make room").isPositive();
    }
  }

  @Test
  void withoutEvictionTheOverflowGets503WithRetryAfterAndNothingHangs() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(
        poolConfig().min(10).max(10).acquireTimeout(Duration.ofSeconds(1)),
        SessionKeyRule.header("X-Session-ID"), options().retryAfter(Duration.ofSeconds(2)))) {
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
    try (GatewayFixture fx = new GatewayFixture(
        poolConfig().max(1).maxQueue(0).acquireTimeout(Duration.ofSeconds(60)),
        SessionKeyRule.header("X-Session-ID"), options())) {
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
