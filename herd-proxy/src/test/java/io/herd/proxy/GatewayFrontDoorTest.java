package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SessionInfo;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The strict front door: what a hostile client may send and what of it reaches a worker. Every
 * refusal is a complete status line before the connection closes, and a refused request reaches
 * no worker; an accepted one reaches it with one session key and no look-alike headers. A worker
 * that records the raw requests it reads shows exactly what got through.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayFrontDoorTest {

  private static ScriptedWorker worker;
  private static GatewayFixture fx;

  @BeforeAll
  static void start() {
    worker = new ScriptedWorker((r, out) -> out.write(ScriptedWorker.ok("seen")));
    // Workers are objects around one socket here, so many sessions cost nothing.
    fx = new GatewayFixture(poolConfig().max(64), SessionKeyRule.header("X-Session-ID"), options(),
        worker.factory());
  }

  @AfterAll
  static void stop() {
    fx.close();
    worker.close();
  }

  static Stream<Arguments> refusedRequests() {
    String host = "Host: h\r\n";
    return Stream.of(
        Arguments.of("two different session keys", 400,
            "GET / HTTP/1.1\r\n" + host + "X-Session-ID: a\r\nX-Session-ID: b\r\n\r\n"),
        Arguments.of("CONNECT", 501, "CONNECT h:22 HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("asterisk-form with GET", 400, "GET * HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("relative target", 400, "GET c/1 HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("authority-form with GET", 400,
            "GET h:80 HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("absolute-form with another scheme", 400,
            "GET ftp://h/x HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("absolute-form with user info", 400,
            "GET http://u@h/x HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("a fragment in the target", 400,
            "GET /x#frag HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("HTTP/2.0", 505, "GET / HTTP/2.0\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("HTTP/1.2", 505, "GET / HTTP/1.2\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("lower-case version", 400, "GET / http/1.1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("version without minor", 400, "GET / HTTP/1\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("no version", 400, "GET /\r\n" + host + "X-Session-ID: a\r\n\r\n"),
        Arguments.of("gzip before chunked", 501, "POST / HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n"
            + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("chunked twice", 400, "POST / HTTP/1.1\r\n" + host + "X-Session-ID: a\r\n"
            + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("bare LF inside the key", 400,
            "GET / HTTP/1.1\r\n" + host + "X-Session-ID: a\nb\r\n\r\n"),
        Arguments.of("bare LF inside the key with a body following", 400,
            "POST / HTTP/1.1\r\n" + host + "X-Session-ID: a\nb\r\nContent-Length: 100000\r\n\r\n"
                + "x".repeat(100_000)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedRequests")
  void aRefusedRequestGetsAStatusLineAndReachesNoWorker(String name, int status, String request) {
    int before = worker.requests().size();
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(request).read();
      assertThat(r.status()).as("%s (body: %s)", name, r.body()).isEqualTo(status);
      assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
      assertThat(c.closedByPeer()).as("%s: the gateway closed the connection", name).isTrue();
    }
    assertThat(worker.requests()).as("%s: nothing reached the worker", name).hasSize(before);
  }

  @Test
  void aRefusalReachesAClientThatIsStillSendingItsBody() throws Exception {
    int before = worker.requests().size();
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      Thread sender = new Thread(() -> {
        try {
          c.send("POST / HTTP/1.1\r\nHost: h\r\nX-Session-ID: a\nb\r\nContent-Length: 8000000\r\n\r\n");
          for (int i = 0; i < 100; i++) {
            c.send(new byte[80_000]);
          }
        } catch (RuntimeException e) {
          // the gateway may stop reading once it has answered; the answer is what counts
        }
      }, "body-sender");
      sender.start();
      RawConnection.Response r = c.read();
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.body()).contains("bare LF");
      sender.join(30_000);
    }
    assertThat(worker.requests()).hasSize(before);
  }

  @Test
  void aChunkSizeLineLongerThanTheLineLimitIs400NotRequestUriTooLong() {
    // The head is fine and may be forwarded before the bad line arrives; the worker then sees
    // an incomplete request, as for any malformed chunk. What matters is the status: 414 would
    // blame the request target.
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send("POST / HTTP/1.1\r\nHost: h\r\nX-Session-ID: a\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n5;x=" + "y".repeat(10_000) + "\r\nhello\r\n0\r\n\r\n")
          .read();
      assertThat(r.status()).as("status (body: %s)", r.body()).isEqualTo(400);
      assertThat(r.body()).contains("chunk size line");
      assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
      assertThat(c.closedByPeer()).isTrue();
    }
  }

  /** Sends {@code request}, expects 200 and hands what the worker read to {@code check}. */
  private static void forwarded(String request, Consumer<ScriptedWorker.Request> check) {
    int before = worker.requests().size();
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(request).read();
      assertThat(r.status()).as("status (body: %s)", r.body()).isEqualTo(200);
    }
    List<ScriptedWorker.Request> seen = worker.requests();
    assertThat(seen).hasSize(before + 1);
    check.accept(seen.get(seen.size() - 1));
  }

  @Test
  void identicalDuplicateKeysCollapseToTheOneTheWorkerSees() {
    forwarded("GET / HTTP/1.1\r\nHost: h\r\nX-Session-ID: dup\r\nX-Session-ID: dup\r\n\r\n",
        seen -> assertThat(seen.all("X-Session-ID")).containsExactly("dup"));
  }

  @Test
  void optionsAsteriskIsForwardedAsIs() {
    forwarded("OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Session-ID: star\r\n\r\n",
        seen -> assertThat(seen.requestLine()).isEqualTo("OPTIONS * HTTP/1.1"));
  }

  @Test
  void absoluteFormBecomesOriginFormWithTheHostOfTheTarget() {
    forwarded("GET http://target.example:8080/a/b?c=1 HTTP/1.1\r\nHost: other\r\nX-Session-ID: abs\r\n\r\n",
        seen -> {
          assertThat(seen.requestLine()).isEqualTo("GET /a/b?c=1 HTTP/1.1");
          assertThat(seen.all("Host")).containsExactly("target.example:8080");
        });
  }

  @Test
  void headerNamesWithUnderscoresNeverReachTheWorkerByDefault() {
    forwarded("POST / HTTP/1.1\r\nHost: h\r\nX-Session-ID: under\r\nContent_Length: 5\r\n"
            + "Transfer_Encoding: chunked\r\nX_Session_ID: other\r\nX_Custom: 1\r\n"
            + "Content-Length: 2\r\n\r\nok",
        seen -> {
          assertThat(seen.headers().keySet()).noneMatch(n -> n.contains("_"));
          assertThat(seen.all("X-Session-ID")).containsExactly("under");
          assertThat(seen.bodyText()).isEqualTo("ok");
        });
  }

  @Test
  void aRefusedHeadRequestGetsItsStatusWithoutContent() {
    // RFC 9110 9.3.2: no content in a response to HEAD; a client reads the head only, and the
    // content would be read as the next response.
    for (String head : List.of("HEAD / HTTP/1.1\r\nX-Session-ID: a\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: h\r\nX-Session-ID: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: h\r\nX-Session-ID: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")) {
      try (RawConnection c = new RawConnection(fx.gateway.port())) {
        RawConnection.Response r = c.send(head).read();
        assertThat(r.status()).as(head).isEqualTo(400);
        assertThat(r.body()).as("%s: the content after the head", head).isEmpty();
      }
    }
  }

  @Test
  void trailerFieldsCannotCarryWhatTheHeadRulesKeepFromTheWorker() {
    // Many servers merge request trailers into the headers, where these would bypass the head's
    // rules: framing, routing, the session key, hop-by-hop and forwarding fields, names with _.
    forwarded("POST / HTTP/1.1\r\nHost: h\r\nX-Session-ID: trail\r\nTransfer-Encoding: chunked\r\n"
            + "\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\nHost: evil\r\nX-Session-ID: other\r\n"
            + "X_Session_ID: other\r\nCookie: sid=other\r\nContent-Length: 5\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\nKeep-Alive: 1\r\n"
            + "Proxy-Authorization: x\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
            + "Forwarded: for=6.6.6.6\r\nX_Custom: 1\r\n\r\n",
        seen -> {
          assertThat(seen.bodyText()).isEqualTo("ok");
          assertThat(seen.trailers()).as("the trailers the worker saw")
              .containsOnlyKeys("x-checksum");
          assertThat(seen.all("X-Session-ID")).containsExactly("trail");
        });
  }

  @Test
  void forwardingHeadersFromAnUntrustedClientAreStrippedOrSetByTheGateway() {
    forwarded("GET / HTTP/1.1\r\nHost: h\r\nX-Session-ID: fwd\r\nX-Real-IP: 6.6.6.6\r\n"
            + "True-Client-IP: 6.6.6.6\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Prefix: /evil\r\n"
            + "X-Forwarded-Server: evil\r\nX-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\n"
            + "Forwarded: for=6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\nX-Forwarded-Scheme: https\r\n"
            + "X-Forwarded-Ssl: on\r\nX-Forwarded-Host: evil\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
        seen -> {
          assertThat(seen.headers().toString()).doesNotContain("6.6.6.6").doesNotContain("evil")
              .doesNotContain("/admin");
          assertThat(seen.headers()).doesNotContainKeys("true-client-ip", "x-forwarded-prefix",
              "x-forwarded-server", "x-original-url", "x-rewrite-url", "forwarded", "x-client-ip",
              "x-forwarded-scheme", "x-forwarded-ssl");
          assertThat(seen.all("X-Forwarded-For")).containsExactly("127.0.0.1");
          assertThat(seen.all("X-Real-IP")).containsExactly("127.0.0.1");
          assertThat(seen.all("X-Forwarded-Port")).containsExactly(Integer.toString(fx.gateway.port()));
        });
  }

  @Test
  void aKeyIsDecodedExactlyOnce() {
    try (GatewayFixture q = new GatewayFixture(poolConfig(), SessionKeyRule.query("sid"), options(),
            worker.factory());
        GatewayFixture p = new GatewayFixture(poolConfig(), SessionKeyRule.pathSegment(0, false),
            options(), worker.factory())) {
      try (RawConnection c = new RawConnection(q.gateway.port())) {
        assertThat(c.send("GET /?sid=a%252Fb HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
      }
      try (RawConnection c = new RawConnection(p.gateway.port())) {
        assertThat(c.send("GET /a%2Fb/x HTTP/1.1\r\nHost: h\r\n\r\n").read().status()).isEqualTo(200);
      }
      assertThat(q.pool.sessions()).extracting(SessionInfo::key).containsExactly("a%2Fb");
      assertThat(p.pool.sessions()).extracting(SessionInfo::key).containsExactly("a/b");
      try (RawConnection c = new RawConnection(q.gateway.port())) {
        assertThat(c.send("GET /?sid=a%zz HTTP/1.1\r\nHost: h\r\n\r\n").read().status())
            .as("a broken escape").isEqualTo(400);
      }
      try (RawConnection c = new RawConnection(q.gateway.port())) {
        assertThat(c.send("GET /?sid=a% HTTP/1.1\r\nHost: h\r\n\r\n").read().status())
            .as("an unterminated escape").isEqualTo(400);
      }
    }
  }

  @Test
  void conflictingQueryOrCookieKeysAre400AndIdenticalOnesAreForwardedOnce() {
    try (GatewayFixture q = new GatewayFixture(poolConfig(), SessionKeyRule.query("sid"), options(),
            worker.factory());
        GatewayFixture k = new GatewayFixture(poolConfig(), SessionKeyRule.cookie("sid"), options(),
            worker.factory())) {
      int before = worker.requests().size();
      assertThat(status(q, "GET /?sid=a&sid=b HTTP/1.1\r\nHost: h\r\n\r\n")).isEqualTo(400);
      assertThat(status(k, "GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=a; sid=b\r\n\r\n")).isEqualTo(400);
      assertThat(status(k, "GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=a\r\nCookie: sid=b\r\n\r\n"))
          .isEqualTo(400);
      assertThat(worker.requests()).hasSize(before);

      assertThat(status(q, "GET /p?sid=a&x=1&sid=a HTTP/1.1\r\nHost: h\r\n\r\n")).isEqualTo(200);
      assertThat(worker.requests()).last().extracting(ScriptedWorker.Request::requestLine)
          .isEqualTo("GET /p?sid=a&x=1 HTTP/1.1");
      assertThat(status(k, "GET / HTTP/1.1\r\nHost: h\r\nCookie: sid=c; x=1; sid=c\r\nCookie: y=2\r\n\r\n"))
          .isEqualTo(200);
      assertThat(worker.requests()).last().satisfies(seen ->
          assertThat(seen.all("Cookie")).containsExactly("sid=c; x=1; y=2"));
    }
  }

  private static int status(GatewayFixture f, String request) {
    try (RawConnection c = new RawConnection(f.gateway.port())) {
      return c.send(request).read().status();
    }
  }
}
