package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The access log seam end to end: real worker processes behind the gateway, real HTTP and
 * WebSocket clients, and an {@link AccessLogListener} that records every entry it is handed.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayAccessLogTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  private final List<AccessLogEntry> entries = new CopyOnWriteArrayList<>();

  private AccessLogEntry awaitEntry(Predicate<AccessLogEntry> which) {
    return await().atMost(WAIT).until(() -> entries.stream().filter(which).findFirst(),
        java.util.Optional::isPresent).orElseThrow();
  }

  @Test
  void eachRequestIsOneEntryWithSessionWorkerBytesAndColdStart() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
        options(), GatewayFixture.processFactory(io.herd.testkit.TestWorkerCommand.argv()), null,
        (pool, b) -> b.accessLog(entries::add))) {
      HttpResponse<String> first = fx.get("/pid?token=secret", "alice");
      assertThat(first.statusCode()).isEqualTo(200);
      AccessLogEntry cold = awaitEntry(e -> e.path().equals("/pid"));
      assertThat(cold.method()).isEqualTo("GET");
      assertThat(cold.protocol()).isEqualTo("HTTP/1.1");
      assertThat(cold.client()).isEqualTo("127.0.0.1");
      assertThat(cold.status()).isEqualTo(200);
      assertThat(cold.session()).isEqualTo("alice");
      assertThat(cold.worker()).startsWith("w-");
      assertThat(cold.outcome()).isEqualTo(CompletedExchange.WORKER);
      assertThat(cold.coldStart()).as("the first request started alice's worker").isTrue();
      assertThat(cold.coldStartMillis())
          .isEqualTo(Long.parseLong(first.headers().firstValue("X-Herd-Cold-Start").orElseThrow()));
      assertThat(cold.responseBytes()).isEqualTo(first.body().length());
      assertThat(cold.requestBytes()).isZero();
      assertThat(cold.tunnel()).isFalse();
      assertThat(cold.path()).as("no query string").doesNotContain("secret");

      entries.clear();
      assertThat(fx.get("/count", "alice").statusCode()).isEqualTo(200);
      AccessLogEntry warm = awaitEntry(e -> e.path().equals("/count"));
      assertThat(warm.coldStart()).as("the worker was already there").isFalse();
      assertThat(warm.worker()).isEqualTo(cold.worker());
      assertThat(entries).as("one entry per request").hasSize(1);

      // Streamed both ways: a chunked upload and a chunked download of 300 KiB.
      byte[] body = new byte[100_000];
      HttpResponse<String> upload = GatewayFixture.send(HttpRequest.newBuilder(fx.uri("/upload"))
          .header("X-Session-ID", "alice").timeout(WAIT)
          .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
      assertThat(upload.statusCode()).isEqualTo(200);
      AccessLogEntry up = awaitEntry(e -> e.path().equals("/upload"));
      assertThat(up.method()).isEqualTo("POST");
      assertThat(up.requestBytes()).isEqualTo(body.length);
      HttpResponse<byte[]> download = GatewayFixture.HTTP.send(
          HttpRequest.newBuilder(fx.uri("/download?bytes=307200")).header("X-Session-ID", "alice")
              .timeout(WAIT).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(download.body()).hasSize(307_200);
      AccessLogEntry down = awaitEntry(e -> e.path().equals("/download"));
      assertThat(down.responseBytes()).isEqualTo(307_200);
      assertThat(down.status()).isEqualTo(200);

      // Refused by the gateway before any key was read.
      assertThat(fx.get("/pid", null).statusCode()).isEqualTo(400);
      AccessLogEntry refused = awaitEntry(e -> e.status() == 400);
      assertThat(refused.session()).isNull();
      assertThat(refused.worker()).isNull();
      assertThat(refused.outcome()).isEqualTo("missing_key");
    }
  }

  @Test
  void aRequestThatTimesOutWaitingForAWorkerIsLoggedWithItsSessionAnd503() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(
        poolConfig().min(1).warm(1).max(1).acquireTimeout(Duration.ofMillis(300)),
        SessionKeyRule.header("X-Session-ID"), options(),
        GatewayFixture.processFactory(io.herd.testkit.TestWorkerCommand.argv()), null,
        (pool, b) -> b.accessLog(entries::add))) {
      // The one worker is started ahead, so alice's request does not wait for it.
      await().atMost(WAIT).until(() -> fx.pool.stats().idle() == 1);
      assertThat(fx.get("/pid", "alice").statusCode()).isEqualTo(200);
      HttpResponse<String> bob = fx.get("/pid", "bob");
      assertThat(bob.statusCode()).as(bob.body()).isEqualTo(503);
      AccessLogEntry e = awaitEntry(x -> "bob".equals(x.session()));
      assertThat(e.status()).isEqualTo(503);
      assertThat(e.worker()).as("no worker was leased").isNull();
      assertThat(e.outcome()).isEqualTo("acquire_timeout");
      assertThat(e.responseBytes()).isEqualTo(bob.body().length());
    }
  }

  @Test
  void aWebSocketIsOneEntryWrittenWhenTheTunnelCloses() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(),
        SessionKeyRule.header("X-Session-ID"), options(),
        GatewayFixture.processFactory(GatewayFixture.nettyWorkerCommand()), null,
        (pool, b) -> b.accessLog(entries::add))) {
      LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
      CompletableFuture<Integer> closed = new CompletableFuture<>();
      URI ws = URI.create("ws://127.0.0.1:" + fx.gateway.port() + "/ws");
      WebSocket socket = GatewayFixture.HTTP.newWebSocketBuilder()
          .header("X-Session-ID", "ws-session")
          .connectTimeout(WAIT)
          .buildAsync(ws, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
              received.add(data.toString());
              webSocket.request(1);
              return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
              closed.complete(statusCode);
              return null;
            }
          })
          .get(30, TimeUnit.SECONDS);
      socket.sendText("hello through the tunnel", true).get(5, TimeUnit.SECONDS);
      assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("hello through the tunnel");
      assertThat(entries).as("nothing is logged while the tunnel is open").isEmpty();

      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
      closed.get(10, TimeUnit.SECONDS);
      AccessLogEntry e = awaitEntry(AccessLogEntry::tunnel);
      assertThat(e.status()).isEqualTo(101);
      assertThat(e.path()).isEqualTo("/ws");
      assertThat(e.session()).isEqualTo("ws-session");
      assertThat(e.worker()).startsWith("w-");
      assertThat(e.requestBytes()).as("frames the client sent, masked: more than the text")
          .isGreaterThan("hello through the tunnel".length());
      assertThat(e.responseBytes()).isGreaterThanOrEqualTo("hello through the tunnel".length());
      assertThat(entries).hasSize(1);
    }
  }
}
