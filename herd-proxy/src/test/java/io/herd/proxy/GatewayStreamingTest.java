package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bodies stream through the gateway both ways. The test JVM, which runs the gateway, has a 96 MiB
 * heap (see the module's surefire argLine), so 200 MiB bodies pass only if nothing buffers them.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayStreamingTest {

  private static final long MIB = 1024 * 1024;
  /** Size of the big bodies; {@code -Dherd.test.streamMiB=1024} for the 1 GiB check. */
  private static final long BIG = Long.getLong("herd.test.streamMiB", 200) * MIB;
  private static GatewayFixture fx;

  @BeforeAll
  static void start() {
    fx = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"), options());
    System.out.println("big bodies: " + BIG / MIB + " MiB, heap max " + Runtime.getRuntime().maxMemory() / MIB + " MiB");
  }

  @AfterAll
  static void stop() {
    fx.close();
  }

  @Test
  void bigChunkedUploadStreamsToTheWorkerUnderASmallHeap() throws Exception {
    long size = BIG;
    HttpRequest request = HttpRequest.newBuilder(fx.uri("/upload"))
        .header("X-Session-ID", "up")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(size)))
        .timeout(Duration.ofSeconds(600))
        .build();
    HttpResponse<String> r = GatewayFixture.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Long.parseLong(r.body())).as("bytes the worker received").isEqualTo(size);
  }

  @Test
  void uploadWithContentLengthStreamsToTheWorker() throws Exception {
    long size = 20 * MIB;
    HttpRequest request = HttpRequest.newBuilder(fx.uri("/upload"))
        .header("X-Session-ID", "up-cl")
        .POST(HttpRequest.BodyPublishers.fromPublisher(
            HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(size)), size))
        .timeout(Duration.ofSeconds(60))
        .build();
    HttpResponse<String> r = GatewayFixture.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Long.parseLong(r.body())).isEqualTo(size);
  }

  @Test
  void bigChunkedDownloadStreamsToTheClientUnderASmallHeap() throws Exception {
    assertDownload(BIG, true);
  }

  @Test
  void downloadWithContentLengthStreamsToTheClient() throws Exception {
    assertDownload(20 * MIB, false);
  }

  private static void assertDownload(long size, boolean chunked) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(fx.uri("/download?bytes=" + size + "&chunked=" + chunked))
        .header("X-Session-ID", "down")
        .timeout(Duration.ofSeconds(600))
        .build();
    HttpResponse<InputStream> r = GatewayFixture.HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    if (!chunked) {
      assertThat(r.headers().firstValueAsLong("content-length")).hasValue(size);
    }
    long total = 0;
    boolean patternIntact = true;
    byte[] buf = new byte[65536];
    try (InputStream in = r.body()) {
      for (int n; (n = in.read(buf)) >= 0; ) {
        for (int i = 0; i < n && patternIntact; i += 4099) {
          patternIntact = buf[i] == (byte) ('a' + ((total + i) % 65536) % 26);
        }
        total += n;
      }
    }
    assertThat(total).as("bytes received").isEqualTo(size);
    assertThat(patternIntact).as("the bytes arrived in order, unchanged").isTrue();
  }

  @Test
  void serverSentEventsReachTheClientOneByOneAsTheWorkerSendsThem() throws Exception {
    // The worker sends each event only when the test says so, and the test says so only once the
    // previous event reached the client: a gateway that held the stream back would stall here.
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (ScriptedWorker worker = new ScriptedWorker((r, out) -> {
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          for (int i = 0; i < 3; i++) {
            String event = "data: " + take(events) + "\n\n";
            out.write((Integer.toHexString(event.length()) + "\r\n" + event + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        });
        GatewayFixture sse = new GatewayFixture(poolConfig(), SessionKeyRule.header("X-Session-ID"),
            options(), worker.factory())) {
      HttpResponse<Stream<String>> r = GatewayFixture.HTTP.send(
          HttpRequest.newBuilder(sse.uri("/events")).header("X-Session-ID", "sse")
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
      for (int i = 1; i <= 3; i++) {
        events.add("tick " + i);
        assertThat(lines.poll(30, TimeUnit.SECONDS)).as("event %d reached the client", i)
            .isEqualTo("data: tick " + i);
      }
      reader.join(30_000);
    }
  }

  private static String take(BlockingQueue<String> events) {
    try {
      String e = events.poll(60, TimeUnit.SECONDS);
      return e == null ? "timeout" : e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** {@code size} bytes of the worker's download pattern, generated on the fly. */
  static final class PatternStream extends InputStream {
    private final long size;
    private long pos;

    PatternStream(long size) {
      this.size = size;
    }

    @Override
    public int read() {
      return pos < size ? 'a' + (int) (pos++ % 65536) % 26 : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (pos >= size) {
        return -1;
      }
      int n = (int) Math.min(len, size - pos);
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) ('a' + (int) ((pos + i) % 65536) % 26);
      }
      pos += n;
      return n;
    }
  }
}
