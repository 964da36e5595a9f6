package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.proxy.SplitRouter.Call;
import io.herd.proxy.SplitRouter.Route;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * How a gateway takes requests that claim to come from a peer: a valid hop is served locally with
 * its forwarding chain trusted and its signature removed; anything else that carries {@value
 * HopSigner#HEADER} is refused with 403 before the router, the pool or a worker hear of it. The
 * workers here are {@link ScriptedWorker}s, which record every request exactly as it arrived.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayHopVerificationTest {

  private static final String FORBIDDEN_BODY =
      "forwarded request with an invalid X-Herd-Hop signature";
  private static final BlockingQueue<String> EVENTS = new LinkedBlockingQueue<>();

  private static ScriptedWorker workerA;
  private static ScriptedWorker workerB;
  private static ScriptedWorker workerC;
  private static GatewayPair pair;
  private static SplitRouter routerC;
  private static GatewayFixture noHops;

  @BeforeAll
  static void start() {
    workerA = new ScriptedWorker(GatewayHopVerificationTest::answer);
    workerB = new ScriptedWorker(GatewayHopVerificationTest::answer);
    workerC = new ScriptedWorker(GatewayHopVerificationTest::answer);
    pair = new GatewayPair(SessionKeyRule.header("X-Session-ID"), workerA.factory(),
        workerB.factory(), key -> key.startsWith("b-") ? Route.PEER : Route.LOCAL,
        key -> Route.LOCAL);
    routerC = new SplitRouter(key -> Route.LOCAL);
    noHops = new GatewayFixture(GatewayFixture.poolConfig(), SessionKeyRule.header("X-Session-ID"),
        GatewayFixture.options(), workerC.factory(), null, (pool, builder) -> {
          routerC.bind(pool);
          builder.router(routerC);
        });
  }

  @AfterAll
  static void stop() {
    try {
      if (noHops != null) {
        noHops.close();
      }
      if (pair != null) {
        pair.close();
      }
    } finally {
      Stream.of(workerA, workerB, workerC).filter(w -> w != null).forEach(ScriptedWorker::close);
    }
  }

  /** {@code /events}: three server-sent events, each when the test queues it; else an echo. */
  private static void answer(ScriptedWorker.Request r, OutputStream out) throws java.io.IOException {
    if (r.requestLine().startsWith("GET /events ")) {
      out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      for (int i = 0; i < 3; i++) {
        String event = "data: " + take() + "\n\n";
        out.write((Integer.toHexString(event.length()) + "\r\n" + event + "\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return;
    }
    out.write(ScriptedWorker.ok("served " + r.requestLine()));
  }

  private static String take() {
    try {
      String e = EVENTS.poll(60, TimeUnit.SECONDS);
      return e == null ? "timeout" : e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** A request to {@code port} with session key {@code key} and {@code extra} header lines. */
  private static RawConnection.Response raw(int port, String method, String target, String key,
      String... extra) {
    StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\n"
        + "Host: gateway.test\r\nX-Session-ID: " + key + "\r\n");
    for (String line : extra) {
      head.append(line).append("\r\n");
    }
    try (RawConnection c = new RawConnection(port)) {
      return c.send(head.append("\r\n").toString()).read();
    }
  }

  private static List<ScriptedWorker.Request> seenBy(ScriptedWorker worker, String key) {
    return worker.requests().stream().filter(r -> key.equals(r.header("X-Session-ID"))).toList();
  }

  @Test
  void aValidHopIsServedLocallyWithItsForwardingChainTrustedAndNoHopHeaderForTheWorker() {
    String hop = pair.signerA.sign("k-valid", "GET", "/echo?x=1");
    RawConnection.Response r = raw(pair.b.gateway.port(), "GET", "/echo?x=1", "k-valid",
        "X-Herd-Hop: " + hop, "X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https",
        "X-Real-IP: 203.0.113.9");

    assertThat(r.status()).isEqualTo(200);
    assertThat(pair.routerB.calls("k-valid")).containsExactly(new Call("k-valid", true));
    ScriptedWorker.Request seen = seenBy(workerB, "k-valid").get(0);
    assertThat(seen.all(HopSigner.HEADER)).as("the worker never sees the hop").isEmpty();
    assertThat(seen.header("X-Forwarded-For")).as("the chain, appended")
        .isEqualTo("203.0.113.9, 127.0.0.1");
    assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(seen.header("X-Real-IP")).isEqualTo("203.0.113.9");

    // The same claims from a client that is not a signed peer are replaced.
    RawConnection.Response plain = raw(pair.b.gateway.port(), "GET", "/echo", "k-plain",
        "X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https");
    assertThat(plain.status()).isEqualTo(200);
    ScriptedWorker.Request unsigned = seenBy(workerB, "k-plain").get(0);
    assertThat(unsigned.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    assertThat(unsigned.header("X-Forwarded-Proto")).isEqualTo("http");
    assertThat(pair.routerB.calls("k-plain")).containsExactly(new Call("k-plain", false));
  }

  @Test
  void everyHopThatDoesNotAuthenticateIs403AndReachesNeitherRouterNorPoolNorWorker() {
    String target = "/echo";
    long now = Clock.systemUTC().millis();
    HopSigner otherSecret = new HopSigner("gw-a", GatewayPair.SECRET + "-rotated");
    HopSigner past = new HopSigner("gw-a", GatewayPair.SECRET,
        Clock.offset(Clock.systemUTC(), Duration.ofSeconds(-31)));
    HopSigner future = new HopSigner("gw-a", GatewayPair.SECRET,
        Clock.offset(Clock.systemUTC(), Duration.ofSeconds(31)));
    Map<String, String[]> cases = new LinkedHashMap<>();
    String good = pair.signerA.sign("k-badmac", "GET", target);
    char c = good.charAt(good.length() - 2);
    cases.put("k-fields", new String[] {"X-Herd-Hop: v1 gw-a " + now});
    cases.put("k-empty", new String[] {"X-Herd-Hop: "});
    cases.put("k-badmac", new String[] {"X-Herd-Hop: " + good.substring(0, good.length() - 2)
        + (c == 'A' ? 'B' : 'A') + good.charAt(good.length() - 1)});
    HopSigner a = pair.signerA;
    cases.put("k-otherkey", new String[] {"X-Herd-Hop: " + a.sign("k-x", "GET", target)});
    cases.put("k-method", new String[] {"X-Herd-Hop: " + a.sign("k-method", "POST", target)});
    cases.put("k-target", new String[] {"X-Herd-Hop: " + a.sign("k-target", "GET", "/other")});
    cases.put("k-expired", new String[] {"X-Herd-Hop: " + past.sign("k-expired", "GET", target)});
    cases.put("k-ahead", new String[] {"X-Herd-Hop: " + future.sign("k-ahead", "GET", target)});
    cases.put("k-secret", new String[] {"X-Herd-Hop: " + otherSecret.sign("k-secret", "GET", target)});
    String dup = pair.signerA.sign("k-dup", "GET", target);
    cases.put("k-dup", new String[] {"X-Herd-Hop: " + dup, "X-Herd-Hop: " + dup});
    cases.put("k-case", new String[] {"x-herd-hop: " + dup}); // names are case-insensitive

    cases.forEach((key, headers) -> {
      RawConnection.Response r = raw(pair.b.gateway.port(), "GET", target, key, headers);
      assertThat(r.status()).as("%s", key).isEqualTo(403);
      assertThat(r.body()).as("%s", key).contains(FORBIDDEN_BODY);
      assertThat(r.headers().get("connection")).as("%s", key).isEqualTo("close");
      assertThat(pair.routerB.calls(key)).as("%s reached the router", key).isEmpty();
      assertThat(seenBy(workerB, key)).as("%s reached a worker", key).isEmpty();
      assertThat(pair.b.pool.sessions()).as("%s has a session", key)
          .noneMatch(s -> s.key().equals(key));
    });
    assertThat(pair.exchangesB).filteredOn(x -> x.outcome().equals("invalid_hop"))
        .hasSize(cases.size()).allSatisfy(x -> assertThat(x.forwardedHop()).isFalse());
  }

  @Test
  void aGatewayWithoutHopSignerRefusesEveryHop() {
    String hop = pair.signerA.sign("k-nosigner", "GET", "/echo");

    RawConnection.Response r = raw(noHops.gateway.port(), "GET", "/echo", "k-nosigner",
        "X-Herd-Hop: " + hop);

    assertThat(r.status()).isEqualTo(403);
    assertThat(r.body()).contains(FORBIDDEN_BODY);
    assertThat(routerC.calls()).isEmpty();
    assertThat(workerC.requests()).isEmpty();
  }

  @Test
  void aClientCannotPoseAsAPeerOfTheGatewayItTalksTo() {
    RawConnection.Response r = raw(pair.a.gateway.port(), "GET", "/echo", "b-posing",
        "X-Herd-Hop: v1 gw-b 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

    assertThat(r.status()).isEqualTo(403);
    assertThat(pair.routerA.calls("b-posing")).isEmpty();
    assertThat(pair.routerB.calls("b-posing")).isEmpty();
  }

  @Test
  void aHopHeaderInTheTrailersNeverReachesTheWorker() {
    String hop = pair.signerA.sign("k-trailer", "POST", "/upload");
    String request = "POST /upload HTTP/1.1\r\nHost: gateway.test\r\nX-Session-ID: k-trailer\r\n"
        + "X-Herd-Hop: " + hop + "\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n0\r\nX-Herd-Hop: " + hop + "\r\nX-Checksum: 42\r\n\r\n";
    RawConnection.Response r;
    try (RawConnection c = new RawConnection(pair.b.gateway.port())) {
      r = c.send(request).read();
    }

    assertThat(r.status()).isEqualTo(200);
    ScriptedWorker.Request seen = seenBy(workerB, "k-trailer").get(0);
    assertThat(seen.bodyText()).isEqualTo("hello");
    assertThat(seen.all(HopSigner.HEADER)).isEmpty();
    assertThat(seen.trailers()).as("other trailers pass").containsKey("x-checksum")
        .doesNotContainKey("x-herd-hop");
  }

  @Test
  void serverSentEventsThroughAArriveOneByOneAsBsWorkerSendsThem() throws Exception {
    HttpResponse<Stream<String>> r = GatewayFixture.HTTP.send(
        HttpRequest.newBuilder(pair.a.uri("/events")).header("X-Session-ID", "b-sse")
            .timeout(Duration.ofSeconds(60)).build(),
        HttpResponse.BodyHandlers.ofLines());
    assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (Stream<String> body = r.body()) {
        body.filter(l -> !l.isEmpty()).forEach(lines::add);
      }
    }, "sse-reader");
    reader.setDaemon(true);
    reader.start();
    // Each event is sent only once the previous one reached the client: a hop that held the
    // stream back would stall here.
    for (int i = 1; i <= 3; i++) {
      EVENTS.add("tick " + i);
      assertThat(lines.poll(30, TimeUnit.SECONDS)).as("event %d reached the client", i)
          .isEqualTo("data: tick " + i);
    }
    reader.join(30_000);
    assertThat(seenBy(workerB, "b-sse")).singleElement()
        .satisfies(seen -> assertThat(seen.all(HopSigner.HEADER)).isEmpty());
    assertThat(seenBy(workerA, "b-sse")).isEmpty();
  }

  @Test
  void connectionsToAPeerArePooledAndClosedWhenThePeerIsGone() {
    try (ScriptedWorker poolA = new ScriptedWorker(GatewayHopVerificationTest::answer);
        ScriptedWorker poolB = new ScriptedWorker(GatewayHopVerificationTest::answer);
        GatewayPair p = new GatewayPair(SessionKeyRule.header("X-Session-ID"), poolA.factory(),
            poolB.factory(), key -> Route.PEER, key -> Route.LOCAL)) {
      for (int i = 0; i < 3; i++) {
        assertThat(p.a.get("/echo", "b-pooled").statusCode()).isEqualTo(200);
      }
      assertThat(poolB.requests()).hasSize(3);
      assertThat(p.b.gateway.openConnections()).as("A's requests share one kept-alive connection")
          .isEqualTo(1);

      p.routerA.peer().gone();

      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(p.b.gateway.openConnections()).as("A closed its idle connection to B")
              .isZero());
      assertThat(p.a.gateway.upstreamConnections()).isZero();
    }
  }

  @Test
  void aPeerGetsTheTargetTheClientSentAndStripsTheKeySegmentItself() {
    try (ScriptedWorker stripA = new ScriptedWorker(GatewayHopVerificationTest::answer);
        ScriptedWorker stripB = new ScriptedWorker(GatewayHopVerificationTest::answer);
        GatewayPair strip = new GatewayPair(SessionKeyRule.parse("path:0:strip"),
            stripA.factory(), stripB.factory(),
            key -> key.startsWith("b-") ? Route.PEER : Route.LOCAL, key -> Route.LOCAL)) {
      HttpResponse<String> r = GatewayFixture.send(HttpRequest.newBuilder(
          strip.a.uri("/b-strip/echo?q=1")).timeout(Duration.ofSeconds(30)).build());

      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("served GET /echo?q=1 HTTP/1.1");
      assertThat(strip.routerB.calls()).containsExactly(new Call("b-strip", true));
      assertThat(stripA.requests()).isEmpty();
      assertThat(stripB.requests()).singleElement()
          .satisfies(seen -> assertThat(seen.all(HopSigner.HEADER)).isEmpty());
    }
  }
}
