package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code proxy.devtools}: the gateway rewrites a DevTools worker's discovery answers so that
 * their links lead back through the gateway with the session key, and leaves every other answer
 * byte for byte as the worker sent it. The worker here is scripted to answer as Chromium does
 * (real sockets, a real pool); herd-server's ChromiumCdpTest drives a real Chromium.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayDevToolsTest {

  private static final String WORKER_WS = "ws://127.0.0.1:9/devtools/browser/B";
  private static final String VERSION = "{\n   \"Browser\": \"Chrome/156\",\n"
      + "   \"webSocketDebuggerUrl\": \"" + WORKER_WS + "\"\n}\n";
  /** Larger than the gateway holds: passes as it is. */
  private static final String HUGE = "[ {\"title\": \"" + "x".repeat(1024 * 1024 + 10)
      + "\", \"webSocketDebuggerUrl\": \"" + WORKER_WS + "\"} ]";

  /** Answers like Chromium's DevTools server, by path. */
  private static final ScriptedWorker.Handler CHROMIUM_LIKE = (request, out) -> {
    String path = request.requestLine().split(" ")[1].replaceFirst("\\?.*", "");
    switch (path) {
      case "/json/version", "/json/version/" -> json(out, VERSION);
      case "/json/list" -> {
        // Chunked, split in the middle of the URL.
        String body = "[ {\"id\": \"P\", \"webSocketDebuggerUrl\": \"ws://127.0.0.1:9/devtools/page/P\","
            + " \"devtoolsFrontendUrl\": \"/devtools/inspector.html?ws=127.0.0.1:9/devtools/page/P\"} ]";
        int half = body.indexOf("devtools/page") + 3;
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n" + chunk(body.substring(0, half))
            + chunk(body.substring(half)) + "0\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      }
      case "/json" -> json(out, HUGE);
      case "/json/new" -> raw(out, "text/html", "<p>" + WORKER_WS + "</p>");
      case "/app/json/version" -> json(out, VERSION);
      case "/json/list/" -> {
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100"
            + "\r\n\r\n{\"webSocketDebuggerUrl\": \"ws://").getBytes(StandardCharsets.UTF_8));
        out.flush();
        throw new IOException("the worker dies mid-answer"); // its connection closes
      }
      default -> out.write(ScriptedWorker.ok("fine"));
    }
  };

  private static String chunk(String s) {
    return Integer.toHexString(s.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + s + "\r\n";
  }

  private static void json(OutputStream out, String body) throws IOException {
    raw(out, "application/json; charset=UTF-8", body);
  }

  private static void raw(OutputStream out, String type, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    out.write(("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nContent-Length: " + b.length
        + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    out.write(b);
  }

  private static String get(String target, String host, String... headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n"
        + String.join("", List.of(headers).stream().map(h -> h + "\r\n").toList()) + "\r\n";
  }

  private static GatewayFixture gateway(ScriptedWorker worker, String rule, boolean devtools,
      List<String> trusted) {
    return new GatewayFixture(poolConfig(), SessionKeyRule.parse(rule),
        options().devtools(devtools).trustedProxies(trusted), worker.factory());
  }

  @Test
  void theVersionAnswerPointsBackThroughTheGatewayWithThePathKey() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "path:0:strip", true, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      String host = "127.0.0.1:" + fx.gateway.port();
      RawConnection.Response r = c.send(get("/alice/json/version", host)).read();

      assertThat(r.status()).isEqualTo(200);
      String expected = VERSION.replace(WORKER_WS,
          "ws://" + host + "/alice/devtools/browser/B");
      assertThat(r.body()).isEqualTo(expected);
      assertThat(r.headers()).containsEntry("content-length",
          Integer.toString(expected.getBytes(StandardCharsets.UTF_8).length));
      assertThat(c.send(get("/alice/json/version/", host)).read().body())
          .as("the connection goes on: the rewritten answer was framed right")
          .contains("/alice/devtools/browser/B");
    }
  }

  @Test
  void aChunkedListIsRewrittenAndSentWithALength() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "path:0:strip", true, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(get("/bob/json/list", "[::1]:8443")).read();

      assertThat(r.headers()).doesNotContainKey("transfer-encoding").containsKey("content-length");
      assertThat(r.body()).contains("\"ws://[::1]:8443/bob/devtools/page/P\"",
          "?ws=[::1]:8443/bob/devtools/page/P\"").doesNotContain("127.0.0.1:9");
    }
  }

  @Test
  void aQueryKeyTravelsInTheRewrittenUrl() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "query:session", true, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      RawConnection.Response r = c.send(get("/json/version?session=carol", "gw:80")).read();
      assertThat(r.body()).contains("\"ws://gw:80/devtools/browser/B?session=carol\"");
    }
  }

  @Test
  void wssOnlyWhenATrustedProxySaysTheClientCameOverTls() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture trusting = gateway(worker, "path:0:strip", true, List.of("127.0.0.0/8"));
        GatewayFixture plain = gateway(worker, "path:0:strip", true, List.of());
        RawConnection t = new RawConnection(trusting.gateway.port());
        RawConnection p = new RawConnection(plain.gateway.port())) {
      String claim = "X-Forwarded-Proto: https";
      assertThat(t.send(get("/dave/json/version", "10.0.0.1:8080", claim,
          "X-Forwarded-Host: herd.example")).read().body())
          .contains("\"wss://herd.example/dave/devtools/browser/B\"");
      assertThat(p.send(get("/dave/json/version", "10.0.0.1:8080", claim,
          "X-Forwarded-Host: herd.example")).read().body())
          .as("a client's own claims are not believed")
          .contains("\"ws://10.0.0.1:8080/dave/devtools/browser/B\"");
    }
  }

  @Test
  void answersTooLargeToHoldNotJsonOrForOtherPathsPassAsTheWorkerSentThem() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "path:0:strip", true, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.timeout(30_000);
      assertThat(c.send(get("/erin/json", "h:1")).read().body()).as("over 1 MiB").isEqualTo(HUGE);
      assertThat(c.send(get("/erin/json/new", "h:1")).read().body()).as("text/html")
          .isEqualTo("<p>" + WORKER_WS + "</p>");
      assertThat(c.send(get("/erin/app/json/version", "h:1")).read().body()).as("another path")
          .isEqualTo(VERSION);
      assertThat(c.send(get("/erin/other", "h:1")).read().body()).isEqualTo("fine");
    }
  }

  @Test
  void withoutTheOptionNothingIsRewritten() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "path:0:strip", false, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      assertThat(c.send(get("/alice/json/version", "h:1")).read().body()).isEqualTo(VERSION);
    }
  }

  @Test
  void aPathKeyThatIsNotStrippedIsRefusedWithTheFix() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE)) {
      assertThatThrownBy(() -> gateway(worker, "path:0", true, List.of()).close())
          .hasMessageContaining("proxy.devtools needs the key's path segment stripped")
          .hasMessageContaining("(expected: path:0:strip)");
    }
  }

  @Test
  void aWorkerThatDiesInTheMiddleOfAHeldAnswerClosesTheClientConnectionAndLeaksNothing() {
    try (ScriptedWorker worker = new ScriptedWorker(CHROMIUM_LIKE);
        GatewayFixture fx = gateway(worker, "path:0:strip", true, List.of());
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.send(get("/frank/json/list/", "h:1"));
      assertThat(c.closedByPeer()).as("nothing of the answer was sent: the connection just closes")
          .isTrue();
    }
  }
}
