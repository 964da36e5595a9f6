package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The probe against an in-process server on 127.0.0.1. */
class HttpHealthProbeTest {

  private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
  private HttpHealthProbe probe;
  private HttpServer server;

  @BeforeEach
  void startServer() throws IOException {
    probe = new HttpHealthProbe(Thread::new, timer);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext("/ok", exchange -> {
      exchange.sendResponseHeaders(200, 2);
      exchange.getResponseBody().write("ok".getBytes());
      exchange.close();
    });
    server.createContext("/broken", exchange -> {
      exchange.sendResponseHeaders(503, -1);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
    probe.close();
    timer.shutdownNow();
  }

  @Test
  void status200IsHealthy() throws Exception {
    assertThat(probe("/ok", Duration.ofSeconds(2)))
        .isEqualTo(new HttpHealthProbe.Result(true, "HTTP 200"));
  }

  @Test
  void otherStatusIsUnhealthyAndNamed() throws Exception {
    assertThat(probe("/broken", Duration.ofSeconds(2)))
        .isEqualTo(new HttpHealthProbe.Result(false, "HTTP 503"));
    assertThat(probe("/missing", Duration.ofSeconds(2)).detail()).isEqualTo("HTTP 404");
  }

  @Test
  void closedPortIsConnectionRefused() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }

    assertThat(probe.probe(port, "/ok", Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS))
        .isEqualTo(new HttpHealthProbe.Result(false, "connection refused"));
  }

  @Test
  void silentServerTimesOut() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      long start = System.nanoTime();
      HttpHealthProbe.Result result =
          probe.probe(silent.getLocalPort(), "/ok", Duration.ofMillis(200)).get(5, TimeUnit.SECONDS);

      assertThat(result).isEqualTo(new HttpHealthProbe.Result(false, "no answer within 200 ms"));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }
  }

  @Test
  void closedProbeAnswersUnhealthyWithoutThrowing() throws Exception {
    probe.close();

    HttpHealthProbe.Result result = probe("/ok", Duration.ofSeconds(1));

    assertThat(result.healthy()).isFalse();
    assertThat(result.detail()).startsWith("probe not possible");
  }

  @Test
  void statusLineParsing() {
    assertThat(HttpHealthProbe.parseStatus("HTTP/1.0 200 OK").healthy()).isTrue();
    assertThat(HttpHealthProbe.parseStatus("HTTP/1.1 204 No Content").healthy()).isFalse();
    assertThat(HttpHealthProbe.parseStatus("SSH-2.0-OpenSSH").detail())
        .isEqualTo("not an HTTP status line: SSH-2.0-OpenSSH");
  }

  private HttpHealthProbe.Result probe(String path, Duration timeout) throws Exception {
    return probe.probe(server.getAddress().getPort(), path, timeout).get(5, TimeUnit.SECONDS);
  }
}
