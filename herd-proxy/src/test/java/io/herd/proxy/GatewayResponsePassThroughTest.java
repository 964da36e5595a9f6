package io.herd.proxy;

import static io.herd.proxy.GatewayFixture.options;
import static io.herd.proxy.GatewayFixture.poolConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The response half of the pass-through data plane, end to end over real sockets: a worker's head
 * reaches the client as the worker wrote it (field order, case, odd values) minus the hop-by-hop
 * fields, bodies arrive byte-exact whatever their framing, and a worker whose framing is
 * ambiguous gets its client a 502 instead of a guess.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayResponsePassThroughTest {

  private static final SessionKeyRule KEY = SessionKeyRule.header("X-Session-ID");
  private static final byte[] BODY = new byte[16384];

  static {
    new Random(42).nextBytes(BODY); // binary, with CR and LF bytes in it
  }

  private static final String KEPT_FIELDS = "Content-Type: application/octet-stream\r\n"
      + "x-lower-case:   spaced value\t\r\n"
      + "Set-Cookie: a=1\r\n"
      + "Set-Cookie: b=2\r\n"
      + "Content-Disposition: attachment; filename=\"caf\u00e9.bin\"\r\n"
      + "Content-Length: 16384\r\n";

  /** Answers by path: each a response shape the gateway must relay or refuse. */
  private static final ScriptedWorker.Handler SHAPES = (request, out) -> {
    String target = request.requestLine().split(" ")[1];
    switch (target) {
      case "/big" -> {
        out.write(("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"
            + "Keep-Alive: timeout=5\r\n" + KEPT_FIELDS + "Proxy-Thing: p\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        out.write(BODY);
      }
      case "/chunked" -> {
        out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1));
        int at = 0;
        for (int size : new int[] {1, 4096, 7, 8000, 4280}) {
          out.write((Integer.toHexString(size) + ";ext=x\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(BODY, at, size);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          at += size;
        }
        out.write("0\r\nX-Sum: 16384\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      case "/cl-te" -> out.write(("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      case "/two-lengths" -> out.write(("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
          + "Content-Length: 6\r\n\r\nhello!").getBytes(StandardCharsets.US_ASCII));
      case "/bad-chunk" -> out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\nzz\r\n").getBytes(StandardCharsets.US_ASCII));
      default -> out.write(ScriptedWorker.ok("ok"));
    }
  };

  private static String get(String path, String key, String version) {
    return "GET " + path + " " + version + "\r\nHost: h\r\nX-Session-ID: " + key + "\r\n\r\n";
  }

  @Test
  void aWorkersHeadReachesTheClientAsItWasWrittenWithoutHopByHopFieldsAndTheBodyByteExact()
      throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(SHAPES);
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory());
        Socket s = connect(fx)) {
      exchange(s, get("/warm", "pt", "HTTP/1.1")); // the session's worker is started
      Raw r = exchange(s, get("/big", "pt", "HTTP/1.1"));
      assertThat(r.head).isEqualTo("HTTP/1.1 200 OK\r\n" + KEPT_FIELDS + "\r\n");
      assertThat(r.body).as("the 16 KiB body, byte for byte").isEqualTo(BODY);
      Raw again = exchange(s, get("/big", "pt", "HTTP/1.1"));
      assertThat(again.body).as("and again on the kept-alive connections").isEqualTo(BODY);
    }
  }

  @Test
  void aChunkedBodyArrivesByteExactWithItsTrailersAndDechunkedForHttp10() throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(SHAPES);
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory())) {
      try (Socket s = connect(fx)) {
        exchange(s, get("/warm", "ch", "HTTP/1.1"));
        Raw r = exchange(s, get("/chunked", "ch", "HTTP/1.1"));
        assertThat(r.head).startsWith("HTTP/1.1 200 OK\r\n").contains("Transfer-Encoding: chunked")
            .doesNotContainIgnoringCase("trailer:");
        assertThat(r.body).isEqualTo(BODY);
        assertThat(r.trailers).isEqualTo("X-Sum: 16384\r\n");
      }
      try (Socket s = connect(fx)) {
        Raw r = exchange(s, get("/chunked", "ch", "HTTP/1.0"));
        assertThat(r.head).doesNotContainIgnoringCase("transfer-encoding")
            .containsIgnoringCase("connection: close");
        assertThat(r.body).as("read to the close").isEqualTo(BODY);
      }
    }
  }

  @Test
  void ambiguousFramingFromAWorkerIsA502AndABadChunkMidBodyEndsTheConnection() throws Exception {
    try (ScriptedWorker worker = new ScriptedWorker(SHAPES);
        GatewayFixture fx = new GatewayFixture(poolConfig(), KEY, options(), worker.factory())) {
      for (String path : new String[] {"/cl-te", "/two-lengths"}) {
        try (RawConnection c = new RawConnection(fx.gateway.port())) {
          assertThat(c.send(get(path, "hostile", "HTTP/1.1")).read().status())
              .as(path).isEqualTo(502);
        }
      }
      try (Socket s = connect(fx)) {
        s.getOutputStream().write(get("/bad-chunk", "hostile", "HTTP/1.1")
            .getBytes(StandardCharsets.US_ASCII));
        byte[] all = s.getInputStream().readAllBytes(); // the gateway closes the connection
        String text = new String(all, StandardCharsets.ISO_8859_1);
        assertThat(text).as("never a complete response: the connection ends (what was relayed"
            + " before the bad chunk may or may not have gone out)").doesNotContain("\r\n0\r\n\r\n");
      }
      try (RawConnection c = new RawConnection(fx.gateway.port())) {
        assertThat(c.send(get("/after", "hostile", "HTTP/1.1")).read().body())
            .as("the session goes on").isEqualTo("ok");
      }
    }
  }

  // ---- a byte-exact client ----

  private record Raw(String head, byte[] body, String trailers) {}

  private static Socket connect(GatewayFixture fx) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), fx.gateway.port());
    s.setSoTimeout(20_000);
    return s;
  }

  /** Sends {@code request} and reads its response as bytes; a cold-start field is left out. */
  private static Raw exchange(Socket s, String request) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(request.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new IOException("closed inside the head: " + head);
      }
      head.append((char) c);
    }
    String h = head.toString().replaceAll("(?im)^X-Herd-Cold-Start: [0-9]+\r\n", "");
    String lower = h.toLowerCase(java.util.Locale.ROOT);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    StringBuilder trailers = new StringBuilder();
    if (lower.contains("\r\ncontent-length: ")) {
      int at = lower.indexOf("\r\ncontent-length: ") + 18;
      int n = Integer.parseInt(lower.substring(at, lower.indexOf('\r', at)));
      body.write(in.readNBytes(n));
    } else if (lower.contains("\r\ntransfer-encoding: chunked\r\n")) {
      while (true) {
        int size = Integer.parseInt(line(in).split(";")[0], 16);
        if (size == 0) {
          for (String t; !(t = line(in)).isEmpty(); ) {
            trailers.append(t).append("\r\n");
          }
          break;
        }
        body.write(in.readNBytes(size));
        line(in);
      }
    } else {
      body.write(in.readAllBytes());
    }
    return new Raw(h, body.toByteArray(), trailers.toString());
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0) {
        throw new IOException("closed inside a line");
      }
      b.append((char) c);
    }
    return b.substring(0, b.length() - 1);
  }
}
