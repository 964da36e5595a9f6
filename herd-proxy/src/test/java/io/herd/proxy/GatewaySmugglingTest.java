package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests that two HTTP parsers could frame differently, and oversized ones, sent over raw
 * sockets: each is refused with 400 (414/431 for size) and its connection closed, and the
 * worker's request counter proves that nothing of it reached the worker.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewaySmugglingTest {

  private static final String HEAD = "POST /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: smug\r\n";
  private static final String HEAD10 = "POST /count HTTP/1.0\r\nHost: h\r\nX-Session-ID: smug\r\n";
  private static GatewayFixture fx;

  @BeforeAll
  static void start() {
    fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
    fx.get("/pid", "smug"); // the session and its worker exist, so a leak would be counted
  }

  @AfterAll
  static void stop() {
    fx.close();
  }

  static Stream<Arguments> hostileRequests() {
    return Stream.of(
        Arguments.of("Content-Length with Transfer-Encoding", 400,
            HEAD + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("differing duplicate Content-Length", 400,
            HEAD + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
        Arguments.of("Content-Length list", 400, HEAD + "Content-Length: 4, 5\r\n\r\nabcde"),
        // Netty skips its duplicate check for HTTP/1.0 and frames the body by the first field; a
        // proxy in front that takes the last one would see a different request boundary.
        Arguments.of("differing duplicate Content-Length in HTTP/1.0", 400,
            HEAD10 + "Content-Length: 3\r\nContent-Length: 50\r\n\r\nGET /count HTTP/1.1\r\n"
                + "Host: h\r\nX-Session-ID: smug\r\n\r\n"),
        Arguments.of("identical duplicate Content-Length in HTTP/1.0", 400,
            HEAD10 + "content-length: 5\r\nContent-Length: 5\r\n\r\nabcde"),
        Arguments.of("last coding not chunked", 400,
            HEAD + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        Arguments.of("only a non-chunked coding", 400, HEAD + "Transfer-Encoding: gzip\r\n\r\nabc"),
        Arguments.of("chunked then identity in a second field", 400,
            HEAD + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"),
        Arguments.of("chunk size not hex", 400,
            HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
        Arguments.of("negative chunk size", 400,
            HEAD + "Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n"),
        Arguments.of("overflowing chunk size", 400,
            HEAD + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabc\r\n0\r\n\r\n"),
        Arguments.of("chunk without CRLF after data", 400,
            HEAD + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"),
        Arguments.of("obs-fold", 400, HEAD + "X-Foo: a\r\n  b\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("obs-fold with tab", 400, HEAD + "X-Foo: a\r\n\tb\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("bare LF", 400, "GET /count HTTP/1.1\nHost: h\nX-Session-ID: smug\n\n"),
        Arguments.of("bare LF in one header", 400, HEAD + "X-Foo: a\nContent-Length: 0\r\n\r\n"),
        Arguments.of("bare CR in a value", 400, HEAD + "X-Foo: a\rb\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("control character in a name", 400, HEAD + "X-F\u0001oo: a\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("control character in a value", 400, HEAD + "X-Foo: a\u0001b\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("NUL in a value", 400, HEAD + "X-Foo: a\u0000b\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("DEL in a value", 400, HEAD + "X-Foo: a\u007fb\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("whitespace before colon", 400, HEAD + "Content-Length : 5\r\n\r\nabcde"),
        Arguments.of("Transfer-Encoding in HTTP/1.0", 400,
            "POST /count HTTP/1.0\r\nHost: h\r\nX-Session-ID: smug\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("two Host headers", 400, "GET /count HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Session-ID: smug\r\n\r\n"),
        // Forwarded as HTTP/1.1, it reached the worker with two Host fields to choose from.
        Arguments.of("two Host headers in HTTP/1.0", 400,
            "GET /count HTTP/1.0\r\nHost: a\r\nHost: b\r\nX-Session-ID: smug\r\n\r\n"),
        Arguments.of("no Host header", 400, "GET /count HTTP/1.1\r\nX-Session-ID: smug\r\n\r\n"),
        Arguments.of("request line too long", 414,
            "GET /count?" + "x".repeat(10_000) + " HTTP/1.1\r\nHost: h\r\nX-Session-ID: smug\r\n\r\n"),
        Arguments.of("headers too large", 431,
            "GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: smug\r\nX-Big: " + "x".repeat(20_000) + "\r\n\r\n"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostileRequests")
  void hostileRequestIsRefusedAndTheConnectionClosedWithoutReachingTheWorker(
      String name, int status, String request) {
    long before = count();
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(request).read();
      assertThat(r.status()).as("%s: status (body: %s)", name, r.body()).isEqualTo(status);
      assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
      c.timeout(5_000);
      assertThat(c.closedByPeer()).as("%s: the gateway closed the connection", name).isTrue();
    }
    assertThat(count()).as("%s: the worker saw only our own /count", name).isEqualTo(before + 1);
  }

  private static long count() {
    return Long.parseLong(fx.get("/count", "smug").body());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostileRequests")
  void hostileRequestAfterAGoodOneOnTheSameConnectionIsRefusedToo(String name, int status, String request) {
    try (RawConnection c = new RawConnection(fx.gateway.port())) {
      c.timeout((int) Duration.ofSeconds(10).toMillis());
      RawConnection.Response good = c.send("GET /pid HTTP/1.1\r\nHost: h\r\nX-Session-ID: smug\r\n\r\n").read();
      assertThat(good.status()).isEqualTo(200);
      long before = count();
      RawConnection.Response r = c.send(request).read();
      assertThat(r.status()).as(name).isEqualTo(status);
      assertThat(c.closedByPeer()).isTrue();
      assertThat(count()).as("%s: nothing reached the worker", name).isEqualTo(before + 1);
    }
  }
}
