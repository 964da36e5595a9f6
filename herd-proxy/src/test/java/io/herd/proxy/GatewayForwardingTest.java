package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.proxy.GatewayStreamingTest.PatternStream;
import io.herd.proxy.SplitRouter.Call;
import io.herd.proxy.SplitRouter.Route;
import io.herd.testkit.TestWorkerCommand;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Requests that gateway A's router places on gateway B cross to B as signed hops and are served by
 * B's worker processes: plain requests, streamed bodies both ways, WebSockets. A routes keys
 * {@code b-*} to B, {@code down-*} nowhere (the router cannot place them), the rest locally; B
 * sends keys containing {@code loop} back to A, which a forwarded request must never follow.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayForwardingTest {

  private static final long MIB = 1024 * 1024;
  private static GatewayPair pair;

  @BeforeAll
  static void start() {
    pair = new GatewayPair(SessionKeyRule.header("X-Session-ID"),
        GatewayFixture.processFactory(TestWorkerCommand.argv()),
        GatewayFixture.processFactory(TestWorkerCommand.argv()),
        GatewayForwardingTest::routeAtA, GatewayForwardingTest::routeAtB);
  }

  @AfterAll
  static void stop() {
    if (pair != null) {
      pair.close();
    }
  }

  static Route routeAtA(String key) {
    return key.startsWith("b-") ? Route.PEER : key.startsWith("down-") ? Route.UNAVAILABLE
        : Route.LOCAL;
  }

  static Route routeAtB(String key) {
    return key.contains("loop") ? Route.PEER : Route.LOCAL;
  }

  /**
   * Whether {@code pid} (what a worker answers to {@code /pid}) is one of {@code fx}'s workers:
   * the pool knows the launcher's pid, the worker program runs below it.
   */
  private static boolean workerOf(GatewayFixture fx, long pid) {
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    for (int depth = 0; depth < 4 && p.isPresent(); depth++) {
      if (fx.pids().contains(p.get().pid())) {
        return true;
      }
      p = p.get().parent();
    }
    return false;
  }

  @Test
  void getAndPostThroughAAreServedByTheWorkerOfTheSessionOnB() {
    HttpResponse<String> viaA = pair.a.get("/pid", "b-get");
    HttpResponse<String> direct = pair.b.get("/pid", "b-get");

    assertThat(viaA.statusCode()).isEqualTo(200);
    long pid = Long.parseLong(viaA.body());
    assertThat(direct.body()).as("B's own client reaches the same worker").isEqualTo(viaA.body());
    assertThat(workerOf(pair.b, pid)).as("a process of B's workers").isTrue();
    assertThat(workerOf(pair.a, pid)).as("a process of A's workers").isFalse();
    assertThat(pair.a.pool.sessions()).as("A's pool was never asked")
        .noneMatch(s -> s.key().equals("b-get"));
    assertThat(pair.routerA.calls("b-get")).containsExactly(new Call("b-get", false));
    assertThat(pair.routerB.calls("b-get"))
        .as("B saw the hop as forwarded, its own client's request as not")
        .containsExactly(new Call("b-get", true), new Call("b-get", false));

    HttpResponse<String> post = GatewayFixture.send(HttpRequest.newBuilder(pair.a.uri("/echo/p"))
        .header("X-Session-ID", "b-get")
        .POST(HttpRequest.BodyPublishers.ofString("hello, B"))
        .timeout(Duration.ofSeconds(30)).build());
    assertThat(post.statusCode()).isEqualTo(200);
    assertThat(post.body()).contains("method: POST", "uri: /echo/p", "body-length: 8")
        .endsWith("hello, B");
    assertThat(GatewayFixture.send(HttpRequest.newBuilder(pair.a.uri("/pid"))
        .header("X-Session-ID", "b-get").timeout(Duration.ofSeconds(30)).build()).body())
        .as("the session stays on its worker").isEqualTo(Long.toString(pid));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(pair.routerA.openPeerLeases()).as("A closed every peer lease").isZero());
  }

  @Test
  void theListenersSeeThePeerOnAAndTheHopOnB() {
    assertThat(pair.a.get("/pid", "b-listen").statusCode()).isEqualTo(200);
    HttpResponse<String> local = pair.a.get("/pid", "a-listen");
    assertThat(local.statusCode()).isEqualTo(200);
    assertThat(workerOf(pair.a, Long.parseLong(local.body()))).as("served by A's worker").isTrue();

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(pair.exchangesA).filteredOn(x -> "gw-b".equals(x.forwardedTo()))
          .as("A reports the request it sent to gw-b").isNotEmpty()
          .allSatisfy(x -> assertThat(x.forwardedHop()).isFalse());
      assertThat(pair.exchangesB).filteredOn(CompletedExchange::forwardedHop)
          .as("B reports the hop it took").isNotEmpty()
          .allSatisfy(x -> assertThat(x.forwardedTo()).isNull());
    });
    long forwardedByA = pair.exchangesA.stream().filter(x -> x.forwardedTo() != null).count();
    long hopsAtB = pair.exchangesB.stream().filter(CompletedExchange::forwardedHop).count();
    long sentOn = pair.routerA.calls().stream().filter(c -> routeAtA(c.key()) == Route.PEER).count();
    assertThat(forwardedByA).as("every request A sent on, and only those").isEqualTo(sentOn);
    assertThat(hopsAtB).as("every hop B took").isEqualTo(
        pair.routerB.calls().stream().filter(Call::forwarded).count());
  }

  @Test
  void theWorkerSeesNoHopHeaderAndTheForwardedChainOfBothGateways() {
    HttpResponse<String> r = GatewayFixture.send(HttpRequest.newBuilder(pair.a.uri("/echo"))
        .header("X-Session-ID", "b-echo")
        .header("X-Forwarded-For", "6.6.6.6") // a client's claim: A drops it
        .timeout(Duration.ofSeconds(30)).build());

    assertThat(r.statusCode()).isEqualTo(200);
    String seen = r.body().toLowerCase(Locale.ROOT);
    assertThat(seen).as("what B's worker saw").doesNotContain("x-herd-hop")
        .doesNotContain("6.6.6.6")
        .contains("header x-forwarded-for: 127.0.0.1, 127.0.0.1")
        .contains("header x-real-ip: 127.0.0.1")
        .contains("header x-forwarded-host: 127.0.0.1:" + pair.a.gateway.port());
    assertThat(r.headers().allValues("x-herd-cold-start"))
        .as("B's cold start passes through; A adds none for a peer lease")
        .hasSizeLessThanOrEqualTo(1)
        .doesNotContain(Long.toString(SplitRouter.PEER_LEASE_WAIT.toMillis()));
  }

  @Test
  void aBigChunkedUploadAndAStreamedDownloadCrossBothGateways() throws Exception {
    long size = 8 * MIB;
    HttpResponse<String> up = GatewayFixture.HTTP.send(HttpRequest.newBuilder(pair.a.uri("/upload"))
        .header("X-Session-ID", "b-stream")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(size)))
        .timeout(Duration.ofSeconds(120)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).isEqualTo(200);
    assertThat(Long.parseLong(up.body())).as("bytes B's worker received").isEqualTo(size);

    HttpResponse<InputStream> down = GatewayFixture.HTTP.send(
        HttpRequest.newBuilder(pair.a.uri("/download?bytes=" + size + "&chunked=true"))
            .header("X-Session-ID", "b-stream").timeout(Duration.ofSeconds(120)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(down.statusCode()).isEqualTo(200);
    long total = 0;
    boolean intact = true;
    byte[] buf = new byte[65536];
    try (InputStream in = down.body()) {
      for (int n; (n = in.read(buf)) >= 0; ) {
        for (int i = 0; i < n && intact; i += 997) {
          intact = buf[i] == (byte) ('a' + ((total + i) % 65536) % 26);
        }
        total += n;
      }
    }
    assertThat(total).as("bytes received through A").isEqualTo(size);
    assertThat(intact).as("the bytes arrived in order, unchanged").isTrue();
    assertThat(pair.routerB.calls("b-stream")).allMatch(Call::forwarded).hasSize(2);
  }

  @Test
  void whenTheRouterCannotPlaceTheSessionTheClientGets503WithItsRetryAfter() {
    HttpResponse<String> r = pair.a.get("/pid", "down-1");

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("retry-after")).as("ceil(2.5 s)").hasValue("3");
    assertThat(r.body()).contains(SplitRouter.UNAVAILABLE_MESSAGE).doesNotContain("Exception");
    assertThat(pair.a.pool.sessions()).noneMatch(s -> s.key().equals("down-1"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(pair.exchangesA).extracting(CompletedExchange::outcome)
            .contains("route_unavailable"));
  }

  @Test
  void aForwardedRequestThatItsReceiverWouldSendOnIsRefusedNotBouncedBack() {
    HttpResponse<String> r = pair.a.get("/pid", "b-loop");

    assertThat(r.statusCode()).as("B's answer, relayed by A").isEqualTo(503);
    assertThat(r.headers().firstValue("retry-after")).hasValue("1");
    assertThat(r.body()).contains("misdirected: this gateway does not own the session");
    assertThat(pair.routerB.calls("b-loop")).containsExactly(new Call("b-loop", true));
    assertThat(pair.routerA.calls("b-loop")).as("nothing came back to A")
        .containsExactly(new Call("b-loop", false));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(pair.routerB.openPeerLeases()).as("B closed the lease it did not use").isZero();
      assertThat(pair.exchangesB).filteredOn(x -> x.outcome().equals("misdirected"))
          .singleElement().satisfies(x -> {
            assertThat(x.forwardedHop()).isTrue();
            assertThat(x.forwardedTo()).isNull();
          });
    });
    assertThat(pair.a.pool.sessions()).noneMatch(s -> s.key().equals("b-loop"));
    assertThat(pair.b.pool.sessions()).noneMatch(s -> s.key().equals("b-loop"));
  }

  @Test
  void aWebSocketThroughAEchoesFromTheWorkerOnB() throws Exception {
    try (GatewayPair ws = new GatewayPair(SessionKeyRule.header("X-Session-ID"),
        GatewayFixture.processFactory(GatewayFixture.nettyWorkerCommand()),
        GatewayFixture.processFactory(GatewayFixture.nettyWorkerCommand()),
        GatewayForwardingTest::routeAtA, GatewayForwardingTest::routeAtB)) {
      LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
      CompletableFuture<Integer> closed = new CompletableFuture<>();
      WebSocket socket = GatewayFixture.HTTP.newWebSocketBuilder()
          .header("X-Session-ID", "b-ws")
          .connectTimeout(Duration.ofSeconds(30))
          .buildAsync(URI.create("ws://127.0.0.1:" + ws.a.gateway.port() + "/ws"),
              new WebSocket.Listener() {
                private final StringBuilder message = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                  message.append(data);
                  if (last) {
                    received.add(message.toString());
                    message.setLength(0);
                  }
                  w.request(1);
                  return null;
                }

                @Override
                public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
                  closed.complete(statusCode);
                  return null;
                }
              })
          .get(60, TimeUnit.SECONDS);

      socket.sendText("hello through two gateways", true).get(10, TimeUnit.SECONDS);
      assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("hello through two gateways");
      String big = "y".repeat(100_000);
      socket.sendText(big, true).get(10, TimeUnit.SECONDS);
      String echoed = received.poll(10, TimeUnit.SECONDS);
      assertThat(echoed != null && echoed.equals(big)).as("a 100 kB message crosses intact").isTrue();
      assertThat(ws.b.pool.sessions()).as("the session lives on B")
          .anyMatch(s -> s.key().equals("b-ws"));
      assertThat(ws.a.pool.sessions()).noneMatch(s -> s.key().equals("b-ws"));
      assertThat(ws.routerA.openPeerLeases()).as("the tunnel holds its peer lease").isOne();

      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
      assertThat(closed.get(10, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(ws.routerA.openPeerLeases()).as("closing the tunnel closed the lease").isZero());
      assertThat(ws.exchangesA).filteredOn(x -> x.status() == 101)
          .singleElement().extracting(CompletedExchange::forwardedTo).isEqualTo("gw-b");
    }
  }
}
