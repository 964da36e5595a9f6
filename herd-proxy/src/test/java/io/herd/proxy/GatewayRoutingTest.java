package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static io.herd.proxy.GatewayFixture.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Routing by session key through the gateway to real worker processes. */
@ExtendWith(LeakCheckExtension.class)
class GatewayRoutingTest {

  @Test
  void everyKeyRulePinsEachSessionToItsOwnWorker() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig().max(10), SessionKeyRule.header("X-Session-ID"), options())) {
      List<HerdGateway> extra = List.of(
          HerdGateway.builder(fx.pool).sessionKey("cookie:sid").start(),
          HerdGateway.builder(fx.pool).sessionKey("query:sid").start(),
          HerdGateway.builder(fx.pool).sessionKey("path:0:strip").start(),
          HerdGateway.builder(fx.pool)
              .sessionKey(SessionKeyRule.of("header X-User", r -> "user-" + r.headers().get("X-User")))
              .start());
      try {
        assertAffinity("header", (key, path) -> req(fx.gateway.uri(), path).header("X-Session-ID", key));
        assertAffinity("cookie", (key, path) -> req(extra.get(0).uri(), path).header("Cookie", "a=b; sid=" + key));
        assertAffinity("query", (key, path) -> req(extra.get(1).uri(), path + "?sid=" + key));
        assertAffinity("path", (key, path) -> req(extra.get(2).uri(), "/" + key + path));
        assertAffinity("custom", (key, path) -> req(extra.get(3).uri(), path).header("X-User", key));
      } finally {
        extra.forEach(HerdGateway::close);
      }
    }
  }

  private static HttpRequest.Builder req(URI base, String pathAndQuery) {
    return HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(30));
  }

  private static void assertAffinity(String rule, BiFunction<String, String, HttpRequest.Builder> request) {
    String a1 = send(request.apply(rule + "-a", "/pid").build()).body();
    String b1 = send(request.apply(rule + "-b", "/pid").build()).body();
    String a2 = send(request.apply(rule + "-a", "/pid").build()).body();
    String count1 = send(request.apply(rule + "-a", "/count").build()).body();
    String count2 = send(request.apply(rule + "-a", "/count").build()).body();
    assertThat(a1).as("%s rule: a session returns to its worker", rule).isEqualTo(a2).matches("\\d+");
    assertThat(b1).as("%s rule: another session gets another worker", rule).isNotEqualTo(a1).matches("\\d+");
    assertThat(Long.parseLong(count2)).as("%s rule: same process state", rule)
        .isEqualTo(Long.parseLong(count1) + 1);
  }

  @Test
  void pathRuleWithStripForwardsThePathWithoutTheKeySegment() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.pathSegment(1, true), options())) {
      HttpResponse<String> r = send(req(fx.gateway.uri(), "/echo/k1/more?x=1").build());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("uri: /echo/more?x=1");
    }
  }

  @Test
  void missingOrInvalidKeyIs400NamingTheKeyAndNeverReachesAWorker() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options())) {
      HttpResponse<String> missing = fx.get("/count", null);
      assertThat(missing.statusCode()).isEqualTo(400);
      assertThat(missing.body()).contains("missing session key").contains("header X-Session-ID");
      HttpResponse<String> tooLong = fx.get("/count", "k".repeat(257));
      assertThat(tooLong.statusCode()).isEqualTo(400);
      assertThat(tooLong.body()).contains("invalid session key");
      assertThat(fx.pool.stats().spawns()).as("no worker was started for bad requests").isZero();
    }
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.query("sid"), options())) {
      HttpResponse<String> control = send(req(fx.gateway.uri(), "/count?sid=a%01b").build());
      assertThat(control.statusCode()).isEqualTo(400);
      assertThat(fx.pool.stats().spawns()).isZero();
    }
  }

  @Test
  void signedKeysAreIssuedVerifiedAndForgeriesGet403() {
    GatewayOptions.Builder options =
        options().signingSecret("0123456789abcdef-test-secret").issueKeys(true);
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.cookie("sid"), options)) {
      HttpResponse<String> first = send(req(fx.gateway.uri(), "/pid").build());
      assertThat(first.statusCode()).isEqualTo(200);
      String setCookie = first.headers().firstValue("set-cookie").orElseThrow();
      assertThat(setCookie).startsWith("sid=").containsIgnoringCase("HttpOnly").contains("SameSite=Lax");
      String key = setCookie.substring(4, setCookie.indexOf(';'));
      assertThat(key).matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");

      HttpResponse<String> again = send(req(fx.gateway.uri(), "/pid").header("Cookie", "sid=" + key).build());
      assertThat(again.body()).as("the issued key routes to the same session").isEqualTo(first.body());
      assertThat(again.headers().firstValue("set-cookie")).isEmpty();

      String forged = key.substring(0, key.indexOf('.')) + ".AAAA" + key.substring(key.indexOf('.') + 5);
      assertThat(send(req(fx.gateway.uri(), "/pid").header("Cookie", "sid=" + forged).build()).statusCode())
          .isEqualTo(403);
      assertThat(send(req(fx.gateway.uri(), "/pid").header("Cookie", "sid=guessed").build()).statusCode())
          .isEqualTo(403);
      SessionKeySigner signer = new SessionKeySigner("0123456789abcdef-test-secret".getBytes());
      assertThat(send(req(fx.gateway.uri(), "/pid").header("Cookie", "sid=" + signer.sign("mine")).build())
          .statusCode()).as("a key signed by the application is accepted").isEqualTo(200);
    }
  }

  @Test
  void aResponseThatWaitedForASpawnCarriesColdStartHeader() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options())) {
      HttpResponse<String> cold = fx.get("/pid", "cold");
      assertThat(cold.headers().firstValue("x-herd-cold-start")).as("first request spawned a worker")
          .hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isGreaterThan(0));
      HttpResponse<String> warm = fx.get("/pid", "cold");
      assertThat(warm.headers().firstValue("x-herd-cold-start")).isEmpty();
    }
  }

  @Test
  void workerConnectionsAreKeptAliveAndClosedWhenTheWorkerLeaves() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig().reuse(false), SessionKeyRule.header("X-Session-ID"), options())) {
      String port1 = fx.get("/conn", "ka").body();
      String port2 = fx.get("/conn", "ka").body();
      String port3 = fx.get("/conn", "ka").body();
      assertThat(port2).as("the second request used the same worker connection").isEqualTo(port1);
      assertThat(port3).isEqualTo(port1);
      assertThat(fx.gateway.upstreamConnections()).isEqualTo(1);
      fx.pool.end("ka");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(fx.gateway.upstreamConnections()).as("connections to the stopped worker").isZero());
    }
  }

  /** Answers with the request line; a request to {@code /hold} waits until {@code release}. */
  private static ScriptedWorker holdingWorker(CountDownLatch release) {
    return new ScriptedWorker((r, out) -> {
      if (r.requestLine().startsWith("GET /hold")) {
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      out.write(ScriptedWorker.ok(r.requestLine()));
    });
  }

  private static CompletableFuture<HttpResponse<String>> sendAsync(
      GatewayFixture fx, String path, String key) {
    return GatewayFixture.HTTP.sendAsync(req(fx.gateway.uri(), path).header("X-Session-ID", key).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static boolean reached(ScriptedWorker worker, String path) {
    return worker.requests().stream().anyMatch(r -> r.requestLine().startsWith("GET " + path + " "));
  }

  @Test
  void sessionConcurrencyLimitRunsASessionsRequestsOneAtATimeInOrder() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (ScriptedWorker worker = holdingWorker(release);
        GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
            options().sessionConcurrency(1), worker.factory())) {
      CompletableFuture<HttpResponse<String>> first = sendAsync(fx, "/hold", "repl");
      await().atMost(Duration.ofSeconds(30)).until(() -> reached(worker, "/hold"));
      CompletableFuture<HttpResponse<String>> second = sendAsync(fx, "/second", "repl");
      CompletableFuture<HttpResponse<String>> other = sendAsync(fx, "/other", "other");

      assertThat(other.get(30, TimeUnit.SECONDS).body())
          .as("another session is not held up by this session's limit").isEqualTo("GET /other HTTP/1.1");
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
          .until(() -> !reached(worker, "/second"));
      assertThat(second).as("the session's second request waits for its first").isNotDone();

      release.countDown();
      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(second.get(30, TimeUnit.SECONDS).body()).isEqualTo("GET /second HTTP/1.1");
      assertThat(worker.requests()).extracting(ScriptedWorker.Request::requestLine)
          .containsExactly("GET /hold HTTP/1.1", "GET /other HTTP/1.1", "GET /second HTTP/1.1");
    }
  }

  @Test
  void aSessionsQueueBeyondItsBoundIsRefusedWith503() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (ScriptedWorker worker = holdingWorker(release);
        GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
            options().sessionConcurrency(1).sessionQueue(0), worker.factory())) {
      CompletableFuture<HttpResponse<String>> running = sendAsync(fx, "/hold", "busy");
      await().atMost(Duration.ofSeconds(30)).until(() -> reached(worker, "/hold"));
      HttpResponse<String> refused = fx.get("/pid", "busy");
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("retry-after")).isPresent();
      assertThat(refused.body()).contains("too many requests wait for this session");
      assertThat(reached(worker, "/pid")).isFalse();
      release.countDown();
      assertThat(running.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(fx.get("/pid", "busy").statusCode()).as("free again").isEqualTo(200);
    }
  }

  @Test
  void hopByHopHeadersStopAtTheGatewayAndForwardedHeadersAreSetByIt() {
    String request = "GET /echo HTTP/1.1\r\nHost: front.example\r\nX-Session-ID: hop\r\n"
        + "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n"
        + "Proxy-Authorization: Basic eA==\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: foo\r\n"
        + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Kept: yes\r\n\r\n";
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(request).read();
      String body = r.body().toLowerCase();
      assertThat(r.status()).isEqualTo(200);
      assertThat(body).contains("header x-kept: yes")
          .doesNotContain("x-secret").doesNotContain("keep-alive: timeout").doesNotContain("proxy-authorization")
          .doesNotContain("header te:").doesNotContain("header trailer:").doesNotContain("header upgrade:")
          .doesNotContain("6.6.6.6").doesNotContain("evil")
          .contains("header x-forwarded-for: 127.0.0.1").contains("header x-forwarded-proto: http")
          .contains("header x-forwarded-host: front.example");
    }
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
        options().trustedProxies(List.of("127.0.0.0/8")));
        RawConnection c = new RawConnection(fx.gateway.port())) {
      String body = c.send(request).read().body().toLowerCase();
      assertThat(body).as("a trusted proxy's X-Forwarded-* are kept and appended to")
          .contains("header x-forwarded-for: 6.6.6.6, 127.0.0.1").contains("header x-forwarded-host: evil");
    }
  }

  @Test
  void expect100ContinueIsAnsweredBeforeTheBodyIsSent() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.send("POST /echo HTTP/1.1\r\nHost: h\r\nX-Session-ID: exp\r\nExpect: 100-continue\r\n"
          + "Content-Length: 5\r\n\r\n");
      assertThat(c.read().status()).isEqualTo(100);
      RawConnection.Response r = c.send("hello").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).contains("body-length: 5").endsWith("hello").doesNotContainIgnoringCase("expect");
      RawConnection.Response again = c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: exp\r\n\r\n").read();
      assertThat(again.status()).as("the connection stays alive").isEqualTo(200);
    }
  }

  @Test
  void expect100ContinueFromAnHttp10ClientIsIgnored() {
    // RFC 9110 10.1.1: an HTTP/1.0 client cannot read a 1xx; it would take "100 Continue" for
    // the final answer and the real one for garbage.
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send("POST /echo HTTP/1.0\r\nHost: h\r\nX-Session-ID: exp10\r\n"
          + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello").read();
      assertThat(r.status()).as("the first answer").isEqualTo(200);
      assertThat(r.body()).contains("body-length: 5").endsWith("hello").doesNotContainIgnoringCase("expect");
    }
  }

  @Test
  void anHttp10RequestWithoutHostReachesTheWorkerWithTheGatewaysAddressAsHost() {
    // HTTP/1.0 may omit Host; the worker gets HTTP/1.1, where a request without one is invalid.
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send("GET /echo HTTP/1.0\r\nX-Session-ID: nohost\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).containsIgnoringCase("host: 127.0.0.1:" + fx.gateway.port());
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderOnOneConnection() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      String get = "GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: pipe\r\n\r\n";
      c.send(get + "POST /echo HTTP/1.1\r\nHost: h\r\nX-Session-ID: pipe\r\nContent-Length: 3\r\n\r\nabc" + get);
      assertThat(c.read().body()).isEqualTo("1");
      assertThat(c.read().body()).contains("body-length: 3").endsWith("abc");
      assertThat(c.read().body()).isEqualTo("2");
    }
  }

  @Test
  void headRequestGetsTheHeadersWithoutABody() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response head =
          c.send("HEAD /pid HTTP/1.1\r\nHost: h\r\nX-Session-ID: head\r\n\r\n").readHead();
      assertThat(head.status()).isEqualTo(200);
      // A body after the HEAD answer would be read as the next response's status line.
      assertThat(c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: head\r\n\r\n").read().body())
          .isEqualTo("1");
    }
  }

  @Test
  void http10ClientGetsAStreamWithoutChunkingAndTheConnectionCloses() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r =
          c.send("GET /sse?ticks=3&intervalMs=10 HTTP/1.0\r\nX-Session-ID: old\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers()).doesNotContainKey("transfer-encoding");
      assertThat(r.body()).contains("data: tick 1").contains("data: tick 3");
      assertThat(c.closedByPeer()).isTrue();
    }
  }
}
