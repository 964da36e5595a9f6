package io.herd.proxy;

import io.herd.core.testing.ObjectWorkerFactory;
import java.util.OptionalLong;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.core.SessionEndReason;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** How the gateway fails: dead, silent and resetting workers, slow and idle clients, drain. */
@ExtendWith(LeakCheckExtension.class)
class GatewayFailureTest {

  @Test
  void workerKilledMidStreamClosesThatClientAndEndsItsSessionCrashedWhileOthersKeepWorking()
      throws Exception {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options())) {
      assertThat(fx.get("/count", "bystander").statusCode()).isEqualTo(200);
      long victimPid = Long.parseLong(fx.get("/pid", "victim").body());
      HttpResponse<InputStream> stream = GatewayFixture.HTTP.send(
          HttpRequest.newBuilder(fx.uri("/download?bytes=" + (500L << 20) + "&delayMs=20"))
              .header("X-Session-ID", "victim").timeout(Duration.ofSeconds(60)).build(),
          HttpResponse.BodyHandlers.ofInputStream());
      assertThat(stream.statusCode()).isEqualTo(200);
      InputStream body = stream.body();
      assertThat(body.readNBytes(256 * 1024)).hasSize(256 * 1024);

      ProcessHandle.of(victimPid).orElseThrow().destroyForcibly();
      long start = System.nanoTime();
      assertThatThrownBy(() -> {
        byte[] buf = new byte[65536];
        while (body.read(buf) >= 0) {
          // drain until the gateway cuts the connection
        }
        throw new AssertionError("the stream ended normally");
      }).as("the client's connection is closed, not ended as if complete").isInstanceOf(IOException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("cut when the worker died, not at the 60 s request timeout").isLessThan(Duration.ofSeconds(30));

      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(fx.endReasons.get("victim")).isEqualTo(SessionEndReason.CRASHED));
      assertThat(fx.get("/count", "bystander").body()).as("the other session still works").isEqualTo("2");
      assertThat(fx.get("/pid", "victim").body()).as("the key starts a new session")
          .isNotEqualTo(Long.toString(victimPid));
    }
  }

  @Test
  void workerThatRefusesConnectionsGives502() throws Exception {
    int port;
    try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = closed.getLocalPort();
    }
    URI address = URI.create("http://127.0.0.1:" + port);
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options(),
        new ObjectWorkerFactory(address, OptionalLong.empty()))) {
      HttpResponse<String> r = fx.get("/pid", "refused");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).contains("refused");
    }
  }

  @Test
  void workerThatResetsBeforeRespondingGives502() throws Exception {
    try (FakeServer server = new FakeServer(socket -> {
          readRequestHead(socket);
          try {
            socket.setSoLinger(true, 0);
            socket.close();
          } catch (IOException e) {
            // gone anyway
          }
        });
        GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options(),
            new ObjectWorkerFactory(server.uri(), OptionalLong.empty()))) {
      HttpResponse<String> r = fx.get("/pid", "reset");
      assertThat(r.statusCode()).isEqualTo(502);
      assertThat(r.body()).contains("closed the connection before responding");
    }
  }

  @Test
  void workerThatNeverRespondsGives504AfterTheResponseTimeout() throws Exception {
    try (FakeServer server = new FakeServer(GatewayFailureTest::readRequestHead);
        GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
            options().responseTimeout(Duration.ofMillis(500)), new ObjectWorkerFactory(server.uri(), OptionalLong.empty()))) {
      // When exactly the deadline fires is ProxyFrontendHandlerTest's, in virtual time.
      HttpResponse<String> r = fx.get("/pid", "silent");
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(r.body()).contains("did not respond in time");
    }
  }

  @Test
  void workerThatDoesNotAcceptConnectionsGives504AfterTheConnectTimeout() throws Exception {
    // A listener whose accept queue is full: the kernel drops further SYNs, so connect hangs.
    try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      List<Socket> fillers = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Socket s = new Socket();
          try {
            s.connect(full.getLocalSocketAddress(), 300);
            fillers.add(s);
          } catch (IOException queueAlreadyFull) {
            s.close();
          }
        }
        URI address = URI.create("http://127.0.0.1:" + full.getLocalPort());
        try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
            options().connectTimeout(Duration.ofMillis(300)), new ObjectWorkerFactory(address, OptionalLong.empty()))) {
          HttpResponse<String> r = fx.get("/pid", "unreachable");
          assertThat(r.statusCode()).as(r.body()).isEqualTo(504);
          assertThat(r.body()).contains("did not accept a connection in time");
        }
      } finally {
        for (Socket s : fillers) {
          s.close();
        }
      }
    }
  }

  @Test
  void slowRequestHeadersGet408AndTheConnectionCloses() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
        options().headerTimeout(Duration.ofMillis(300)));
        RawConnection c = new RawConnection(fx.gateway.port())) {
      c.timeout(30_000);
      RawConnection.Response r = c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session").read();
      assertThat(r.status()).isEqualTo(408);
      assertThat(c.closedByPeer()).isTrue();
      assertThat(fx.pool.stats().spawns()).isZero();
    }
  }

  @Test
  void idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
        options().idleTimeout(Duration.ofSeconds(3)));
        RawConnection c = new RawConnection(fx.gateway.port())) {
      assertThat(c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: idle\r\n\r\n").read().status()).isEqualTo(200);
      assertThat(c.send("GET /count HTTP/1.1\r\nHost: h\r\nX-Session-ID: idle\r\n\r\n").read().body())
          .as("kept alive").isEqualTo("2");
      c.timeout(30_000); // the deadline's exact instant is checked in virtual time
      assertThat(c.closedByPeer()).isTrue();
    }
  }

  @Test
  void drainStopsAcceptingAndLetsInFlightExchangesFinish() throws Exception {
    try (GatewayFixture fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
        RawConnection idle = new RawConnection(fx.gateway.port())) {
      assertThat(fx.get("/pid", "drain").statusCode()).isEqualTo(200);
      assertThat(idle.send("GET /pid HTTP/1.1\r\nHost: h\r\nX-Session-ID: drain\r\n\r\n").read().status()).isEqualTo(200);
      CompletableFuture<HttpResponse<String>> inFlight = GatewayFixture.HTTP.sendAsync(
          HttpRequest.newBuilder(fx.uri("/sleep?ms=1000")).header("X-Session-ID", "drain").build(),
          HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(30)).until(() -> fx.pool.sessions().stream()
          .anyMatch(s -> s.key().equals("drain") && s.openLeases() == 1));
      int port = fx.gateway.port();
      CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> fx.gateway.drain(Duration.ofSeconds(10)));
      idle.timeout(30_000);
      assertThat(idle.closedByPeer()).as("an idle keep-alive connection closes at once").isTrue();
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
              .as("no new connections").isInstanceOf(IOException.class));
      HttpResponse<String> r = inFlight.get(10, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("slept");
      assertThat(r.headers().firstValue("connection")).hasValue("close");
      assertThat(drained.get(10, TimeUnit.SECONDS)).as("drained within the deadline").isTrue();
    }
  }

  private static void readRequestHead(Socket socket) {
    try {
      InputStream in = socket.getInputStream();
      int matched = 0;
      byte[] end = {'\r', '\n', '\r', '\n'};
      for (int b; matched < 4 && (b = in.read()) >= 0; ) {
        matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      }
    } catch (IOException e) {
      // the test sees the outcome through the gateway
    }
  }

  /** A socket server the test scripts: each accepted connection runs {@code onConnection}. */
  static final class FakeServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> accepted = new ArrayList<>();
    private final Thread acceptor;

    FakeServer(Consumer<Socket> onConnection) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            Socket s = server.accept();
            synchronized (accepted) {
              accepted.add(s);
            }
            onConnection.accept(s);
          } catch (IOException e) {
            return;
          }
        }
      }, "fake-server");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    URI uri() {
      return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    @Override
    public void close() throws IOException {
      server.close();
      synchronized (accepted) {
        for (Socket s : accepted) {
          s.close();
        }
      }
      try {
        acceptor.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
