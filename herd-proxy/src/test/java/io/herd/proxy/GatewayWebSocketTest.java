package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.SessionEndReason;
import java.net.URI;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** WebSockets through the gateway, to a Netty worker process that echoes text frames. */
@ExtendWith(LeakCheckExtension.class)
class GatewayWebSocketTest {

  @Test
  void webSocketEchoesThroughTheGatewayAndItsSessionOutlivesTheTtlWhileOpen() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(
        poolConfig().ttl(Duration.ofMillis(800)).healthInterval(Duration.ofMillis(200)),
        SessionKeyRule.header("X-Session-ID"), options(),
        GatewayFixture.processFactory(GatewayFixture.nettyWorkerCommand()))) {
      LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
      CompletableFuture<Integer> closed = new CompletableFuture<>();
      URI ws = URI.create("ws://127.0.0.1:" + fx.gateway.port() + "/ws");
      WebSocket socket = GatewayFixture.HTTP.newWebSocketBuilder()
          .header("X-Session-ID", "ws-session")
          .connectTimeout(Duration.ofSeconds(30))
          .buildAsync(ws, new WebSocket.Listener() {
            private final StringBuilder message = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
              message.append(data);
              if (last) {
                received.add(message.toString());
                message.setLength(0);
              }
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

      socket.sendText("hello", true).get(5, TimeUnit.SECONDS);
      assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("hello");
      String big = "x".repeat(200_000);
      socket.sendText(big, true).get(5, TimeUnit.SECONDS);
      String echoed = received.poll(5, TimeUnit.SECONDS);
      assertThat(echoed != null && echoed.equals(big)).as("a 200 kB message crosses intact (got %s chars, close status %s)",
          echoed == null ? null : echoed.length(), closed.getNow(null)).isTrue();

      // Three TTLs with the socket open and silent: an open WebSocket holds its session's lease.
      await().during(Duration.ofMillis(2_500)).atMost(Duration.ofSeconds(10))
          .until(() -> !fx.ended.contains("ws-session"));
      socket.sendText("still there", true).get(5, TimeUnit.SECONDS);
      assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("still there");

      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
      assertThat(closed.get(5, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(fx.endReasons.get("ws-session"))
              .as("once the socket closed, the lease was released and the session expires")
              .isEqualTo(SessionEndReason.EXPIRED));
      assertThat(fx.gateway.openConnections()).isZero();
    }
  }
}
