package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One response per request, whatever a worker or a client does to the framing: a worker cannot
 * answer another session's request on a shared client connection, a client cannot hold a worker
 * by stalling its body, and a request that turns out malformed half-way never leaves a worker
 * connection that could be reused. Real sockets, real pools.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayExchangeIntegrityTest {

  private static final SessionKeyRule KEY = SessionKeyRule.header("X-Session-ID");

  /** Answers {@code for <key>}; the session {@code evil} appends a second, unsolicited response. */
  private static final ScriptedWorker.Handler INJECTOR = (request, out) -> {
    String key = request.header("X-Session-ID");
    if ("evil".equals(key)) {
      ByteArrayOutputStream both = new ByteArrayOutputStream();
      both.write(ScriptedWorker.ok("for evil"));
      both.write(ScriptedWorker.ok("injected by evil"));
      out.write(both.toByteArray()); // one write: both responses reach the gateway together
    } else {
      out.write(ScriptedWorker.ok("for " + key));
    }
  };

  private static String get(String key) {
    return "GET /x HTTP/1.1\r\nHost: h\r\nX-Session-ID: " + key + "\r\n\r\n";
  }

  @Test
  void aSecondResponseAWorkerAppendsNeverReachesThePipelinedRequestOfAnotherSession() {
    try (ScriptedWorker worker = new ScriptedWorker(INJECTOR);
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.send(get("evil") + get("victim"));
      assertThat(c.read().body()).isEqualTo("for evil");
      assertThat(c.read().body()).as("the victim's request is answered by the victim's worker")
          .isEqualTo("for victim");
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
          .until(() -> c.buffered() == 0);
      assertInjectorConnectionClosed(worker);
    }
  }

  @Test
  void aSecondResponseAWorkerAppendsNeverReachesTheNextRequestOfAnotherSessionAfterAPause()
      throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(INJECTOR);
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      assertThat(c.send(get("evil")).read().body()).isEqualTo("for evil");
      Thread.sleep(300); // the scenario: the client sends its next request a little later
      assertThat(c.send(get("victim")).read().body())
          .as("the victim's request is answered by the victim's worker").isEqualTo("for victim");
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
          .until(() -> c.buffered() == 0);
      assertInjectorConnectionClosed(worker);
      assertThat(c.send(get("evil")).read().body()).as("the session itself goes on, on a new connection")
          .isEqualTo("for evil");
    }
  }

  private static void assertInjectorConnectionClosed(ScriptedWorker worker) {
    int injector = worker.requests().stream().filter(r -> "evil".equals(r.header("X-Session-ID")))
        .findFirst().orElseThrow().connection();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(worker.endedConnections())
            .as("the gateway closed the worker connection that carried the extra bytes")
            .contains(injector));
  }

  @Test
  void aValidRequestIsAnsweredAlthoughALaterPipelinedOneIsMalformed() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: pipe\r\n\r\n"
          + "GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: pipe\r\nX-Folded: a\r\n b\r\n\r\n");
      RawConnection.Response first = c.read();
      assertThat(first.status()).as("the valid request: %s", first.body()).isEqualTo(200);
      assertThat(first.body()).isEqualTo("1");
      RawConnection.Response second = c.read();
      assertThat(second.status()).isEqualTo(400);
      assertThat(second.body()).contains("obs-fold");
      assertThat(c.closedByPeer()).isTrue();
      assertThat(fx.get("/count", "pipe").body()).as("only the valid request reached the worker")
          .isEqualTo("2");
    }
  }

  @Test
  void aChunkThatTurnsOutMalformedInALaterReadGets400AndTheWorkerConnectionIsNeverReused() {
    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("got it")));
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.send("POST /up HTTP/1.1\r\nHost: h\r\nX-Session-ID: trunc\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> worker.connections() == 1);
      RawConnection.Response r = c.send("zz\r\nnot hex\r\n0\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(400);
      assertThat(c.closedByPeer()).isTrue();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(worker.requests()).singleElement().satisfies(seen -> {
          assertThat(seen.complete()).as("the worker sees a chunked body without its last chunk").isFalse();
          assertThat(seen.bodyText()).isIn("", "hello");
        });
        assertThat(worker.endedConnections()).as("and then the connection closes").containsExactly(0);
      });
      assertThat(fx.get("/x", "trunc").body()).isEqualTo("got it");
      assertThat(worker.requests()).last().extracting(ScriptedWorker.Request::connection)
          .as("the next request of the session used a new worker connection").isEqualTo(1);
    }
  }

  @Test
  void aClientThatStallsMidBodyGets408AndItsWorkerGoesToTheNextSession() {
    try (GatewayFixture fx = new GatewayFixture(
            poolConfig().max(1).evictIdleOnPressure(true).acquireTimeout(Duration.ofSeconds(30)),
            KEY, options().bodyTimeout(Duration.ofMillis(500)));
        RawConnection stalled = new RawConnection(fx.gateway.port())) {
      assertThat(fx.get("/pid", "stalls").statusCode()).isEqualTo(200);
      stalled.timeout(20_000);
      stalled.send("POST /upload HTTP/1.1\r\nHost: h\r\nX-Session-ID: stalls\r\n"
          + "Content-Length: 100\r\n\r\n0123456789");
      RawConnection.Response r = stalled.read();
      assertThat(r.status()).isEqualTo(408);
      assertThat(stalled.closedByPeer()).isTrue();
      assertThat(fx.get("/pid", "next").statusCode()).as("the only worker went to the next session")
          .isEqualTo(200);
    }
  }
}
