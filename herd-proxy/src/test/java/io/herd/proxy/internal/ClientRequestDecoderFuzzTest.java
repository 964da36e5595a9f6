package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.LeakCheckExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzz and differential test of the request fast path: random and mutated streams of pipelined
 * requests, whole or split at random points, are decoded by {@link ClientRequestDecoder} and by
 * the {@link StrictRequestDecoder} alone, and must give the same requests (method, target,
 * version, every field in order), the same bodies and trailers, the same refusals (status and
 * kind) at the same place, and the same head-started events. The fast path must actually take
 * part (a share of the requests must come from it). Random header edits on a fast-path request
 * must leave the same fields as the same edits on Netty's headers, and what the upstream encoder
 * then writes must read back, through the strict decoder, as exactly those fields.
 *
 * <p>Seeded: the seed is printed, and a failure names it with the case; replay with {@code
 * -Dherd.fuzz.seed=<seed>}; run longer with {@code -Dherd.fuzz.cases=<n>}.
 */
@ExtendWith(LeakCheckExtension.class)
class ClientRequestDecoderFuzzTest {

  /** Cases per test; more with {@code -Dherd.fuzz.cases=N}. */
  private static final int CASES = Integer.getInteger("herd.fuzz.cases", 4000);
  /** Small limits, so that oversized lines and heads (414, 431) come up at random too. */
  private static final int MAX_LINE = 120;
  private static final int MAX_HEADER = 300;
  private static final int MAX_CHUNK = 16;

  private static final String[] METHODS = {"GET", "GET", "POST", "HEAD", "PUT", "DELETE",
      "OPTIONS", "PATCH", "M-SEARCH", "get", "G@T", "", "CONNECT"};
  private static final String[] TARGETS = {"/", "/hello", "/a/b?c=d&e", "http://h:8/x", "*",
      "/a b", "/\u00e9", "/%20", "h:80", "/" + "x".repeat(130), "/?q=\t"};
  private static final String[] VERSIONS = {"HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0",
      "HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/1"};
  private static final String[] NAMES = {"Host", "Host", "X-Session-ID", "Content-Length",
      "content-length", "Transfer-Encoding", "Connection", "Cookie", "X_Under", "Proxy-Foo",
      "Expect", "Upgrade", "Bad Name", "", "X-A", "Accept", "User-Agent", "X-Long",
      "Content-Length ", "Transfer_Encoding", "Keep-Alive", "TE", "Trailer"};
  private static final String[] VALUES = {"h", " v ", "\tv\t", "", "5", "0", "007", "+5",
      "5, 5", "-1", "chunked", "gzip, chunked", "chunked, gzip", "a\u0001b", "\u00e9",
      "keep-alive", "close", "upgrade", "100-continue", "123456789012345678901",
      "text/html, */*;q=0.8", "a=b; c=d", "x".repeat(90), " 3 ", "4 4"};

  /** Bytes a mutation puts in: the ones parsers disagree about. */
  private static final int[] MUTANTS = {' ', '\t', '\r', '\n', ':', 0, 0x7f, 0xe9, 'a', '_', ','};

  private final List<Object> events = new ArrayList<>();

  @Test
  void fastPathDecodesExactlyAsTheStrictDecoderOnRandomAndMutatedStreams() {
    long seed = Long.getLong("herd.fuzz.seed", System.nanoTime());
    System.out.println("ClientRequestDecoderFuzzTest seed: " + seed);
    Random random = new Random(seed);
    int fastRequests = 0;
    int requests = 0;
    int refusals = 0;
    for (int c = 0; c < CASES; c++) {
      byte[] stream = stream(random);
      List<byte[]> pieces = split(random, stream);
      String where = "seed " + seed + ", case " + c + ": " + show(stream);
      List<String> expected = decode(() -> new StrictRequestDecoder(config()), pieces, null);
      int[] fast = new int[1];
      List<String> actual = decode(() -> new ClientRequestDecoder(config()), pieces, fast);
      assertThat(actual).as(where).isEqualTo(expected);
      fastRequests += fast[0];
      requests += (int) expected.stream().filter(s -> s.startsWith("REQ")).count();
      refusals += (int) expected.stream().filter(s -> s.contains("FAIL")).count();
    }
    System.out.printf("%d requests, %d by the fast path, %d refusals%n",
        requests, fastRequests, refusals);
    assertThat(fastRequests).as("requests the fast path read (seed %d)", seed)
        .isGreaterThan(CASES / 4);
    assertThat(refusals).as("refusals among the cases (seed %d)", seed)
        .isGreaterThan(CASES / 4);
  }

  @Test
  void editedFastPathHeadsAreWrittenAsTheirFieldsSay() {
    long seed = Long.getLong("herd.fuzz.seed", System.nanoTime());
    System.out.println("ClientRequestDecoderFuzzTest edit seed: " + seed);
    Random random = new Random(seed);
    int checked = 0;
    for (int c = 0; c < CASES / 2; c++) {
      StringBuilder head = new StringBuilder("GET /p?x=1 HTTP/1.1\r\n");
      int fields = random.nextInt(8);
      for (int f = 0; f < fields; f++) {
        head.append(pick(random, "Host", "X-A", "x-a", "Cookie", "Proxy-B", "X-C"))
            .append(':').append(pick(random, " 1", "2 ", "\t3", "", " a b ")).append("\r\n");
      }
      head.append("\r\n");
      byte[] bytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
      HttpRequest raw = new RequestHeadScanner(MAX_LINE, 1000).scan(bytes);
      assertThat(raw).as("seed %d case %d: %s", seed, c, head).isNotNull();
      String where = "seed " + seed + ", case " + c + ": " + head;
      HttpHeaders h = raw.headers();
      for (int e = random.nextInt(5); e > 0; e--) {
        String name = pick(random, "Host", "x-a", "X-A", "Cookie", "X-New", "proxy-b");
        String value = pick(random, "v", "", "w x");
        switch (random.nextInt(4)) {
          case 0 -> h.remove(name);
          case 1 -> h.set(name, value);
          case 2 -> h.add(name, value);
          default -> ((RawHeaders) h).removeNamesStartingWith("proxy-");
        }
      }
      List<String> view = new ArrayList<>();
      raw.headers().forEach(e -> view.add(e.getKey() + ": " + e.getValue()));
      raw.setUri("/q");
      EmbeddedChannel up = new EmbeddedChannel(new UpstreamRequestEncoder());
      up.writeOutbound(raw, LastHttpContent.EMPTY_LAST_CONTENT);
      ByteBuf wire = Unpooled.buffer();
      for (Object o; (o = up.readOutbound()) != null; ) {
        wire.writeBytes((ByteBuf) o);
        ((ByteBuf) o).release();
      }
      up.finishAndReleaseAll();
      EmbeddedChannel back = new EmbeddedChannel(new StrictRequestDecoder(config()));
      back.writeInbound(wire);
      HttpRequest reread = back.readInbound();
      assertThat(reread.decoderResult().isSuccess()).as(where).isTrue();
      assertThat(reread.uri()).as(where).isEqualTo("/q");
      List<String> written = new ArrayList<>();
      reread.headers().forEach(e -> written.add(e.getKey() + ": " + e.getValue()));
      assertThat(written).as("what the encoder wrote, read back (%s)", where).isEqualTo(view);
      back.finishAndReleaseAll();
      checked++;
    }
    assertThat(checked).isEqualTo(CASES / 2);
  }

  @Test
  void headerEditsOnTheRawViewMatchNettyHeaders() {
    long seed = Long.getLong("herd.fuzz.seed", System.nanoTime());
    Random random = new Random(seed);
    for (int c = 0; c < CASES / 2; c++) {
      StringBuilder head = new StringBuilder("GET / HTTP/1.1\r\n");
      for (int f = random.nextInt(8); f > 0; f--) {
        head.append(pick(random, "Host", "X-A", "x-a", "Cookie", "Proxy-B", "X-C"))
            .append(": ").append(pick(random, "1", "2", "3 4")).append("\r\n");
      }
      head.append("\r\n");
      HttpRequest raw = new RequestHeadScanner(MAX_LINE, 1000)
          .scan(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      HttpHeaders h = raw.headers();
      HttpHeaders mirror = new DefaultHttpHeaders();
      h.forEach(e -> mirror.add(e.getKey(), e.getValue()));
      String where = "seed " + seed + ", case " + c + ": " + head;
      for (int e = random.nextInt(6); e > 0; e--) {
        String name = pick(random, "Host", "x-a", "X-A", "Cookie", "X-New", "proxy-b", "X-C");
        String value = pick(random, "v", "", "w x");
        int op = random.nextInt(4);
        for (HttpHeaders target : List.of(h, mirror)) {
          switch (op) {
            case 0 -> target.remove(name);
            case 1 -> target.set(name, value);
            case 2 -> target.add(name, value);
            default -> {
              if (target instanceof RawHeaders r) {
                r.removeNamesStartingWith("proxy-");
              } else {
                List<String> drop = new ArrayList<>();
                target.forEach(x -> {
                  if (x.getKey().toLowerCase(java.util.Locale.ROOT).startsWith("proxy-")) {
                    drop.add(x.getKey());
                  }
                });
                drop.forEach(target::remove);
              }
            }
          }
        }
        assertThat(entries(h)).as(where).isEqualTo(entries(mirror));
        assertThat(h.getAll(name)).as(where).isEqualTo(mirror.getAll(name));
        assertThat(h.get(name)).as(where).isEqualTo(mirror.get(name));
        assertThat(h.contains(name)).as(where).isEqualTo(mirror.contains(name));
        assertThat(h.size()).as(where).isEqualTo(mirror.size());
        assertThat(lower(h.names())).as(where).isEqualTo(lower(mirror.names()));
      }
    }
  }

  @Test
  void addedFieldsCannotInjectALine() {
    HttpRequest raw = new RequestHeadScanner(MAX_LINE, 1000)
        .scan("GET / HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    HttpHeaders h = raw.headers();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> h.set("X-A", "v\r\nX-B: w"))
        .isInstanceOf(IllegalArgumentException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> h.add("X A", "v"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(entries(h)).containsExactly("Host: h");
  }

  private static java.util.Set<String> lower(java.util.Set<String> names) {
    java.util.Set<String> out = new java.util.TreeSet<>();
    names.forEach(n -> out.add(n.toLowerCase(java.util.Locale.ROOT)));
    return out;
  }

  private static List<String> entries(HttpHeaders h) {
    List<String> out = new ArrayList<>();
    h.forEach(e -> out.add(e.getKey() + ": " + e.getValue()));
    return out;
  }

  // ---- the differential run ----

  private static HttpDecoderConfig config() {
    return new HttpDecoderConfig().setMaxInitialLineLength(MAX_LINE)
        .setMaxHeaderSize(MAX_HEADER).setMaxChunkSize(MAX_CHUNK);
  }

  /** Decodes {@code pieces} with a fresh decoder into a comparable description of each message. */
  private List<String> decode(Supplier<ChannelHandler> decoder, List<byte[]> pieces, int[] fast) {
    events.clear();
    EmbeddedChannel ch = new EmbeddedChannel(decoder.get(), new ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        events.add(evt);
      }
    });
    List<String> out = new ArrayList<>();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (byte[] piece : pieces) {
      ch.writeInbound(Unpooled.wrappedBuffer(piece));
      for (Object o; (o = ch.readInbound()) != null; ) {
        try {
          describe((HttpObject) o, out, body, fast);
        } finally {
          ReferenceCountUtil.release(o);
        }
      }
      out.add("events " + events.size());
    }
    ch.finishAndReleaseAll();
    return out;
  }

  private static void describe(HttpObject o, List<String> out, ByteArrayOutputStream body,
      int[] fast) {
    StringBuilder s = new StringBuilder();
    if (o instanceof HttpRequest r) {
      s.append("REQ ").append(r.method()).append(' ').append(r.uri()).append(' ')
          .append(r.protocolVersion()).append(' ');
      if (o.decoderResult().isSuccess()) {
        for (Map.Entry<String, String> e : r.headers()) {
          s.append('[').append(e.getKey()).append(": ").append(e.getValue()).append(']');
        }
        if (fast != null && r.headers() instanceof RawHeaders) {
          fast[0]++;
        }
      }
    }
    if (o instanceof HttpContent c) {
      body.writeBytes(bytes(c.content()));
      if (o instanceof LastHttpContent last) {
        s.append("BODY ").append(body.toString(StandardCharsets.ISO_8859_1)).append(' ');
        body.reset();
        for (Map.Entry<String, String> e : last.trailingHeaders()) {
          s.append("<").append(e.getKey()).append(": ").append(e.getValue()).append('>');
        }
      }
    }
    DecoderResult result = o.decoderResult();
    if (result.isFailure()) {
      Throwable cause = result.cause();
      s.append(" FAIL ").append(cause.getClass().getSimpleName());
      if (cause instanceof StrictRequestDecoder.MalformedRequestException m) {
        s.append(' ').append(m.refusal());
      }
    }
    if (s.length() > 0) {
      out.add(s.toString());
    }
  }

  private static byte[] bytes(ByteBuf b) {
    byte[] a = new byte[b.readableBytes()];
    b.getBytes(b.readerIndex(), a);
    return a;
  }

  // ---- the generator ----

  private static byte[] stream(Random random) {
    StringBuilder s = new StringBuilder();
    for (int n = 1 + random.nextInt(3); n > 0; n--) {
      s.append(request(random));
    }
    byte[] bytes = s.toString().getBytes(StandardCharsets.ISO_8859_1);
    if (random.nextInt(3) == 0) {
      for (int m = 1 + random.nextInt(3); m > 0 && bytes.length > 0; m--) {
        bytes = mutate(random, bytes);
      }
    }
    return bytes;
  }

  private static String request(Random random) {
    String eol = random.nextInt(40) == 0 ? pick(random, "\n", "\r", "\r\r\n", "\n\r") : "\r\n";
    StringBuilder s = new StringBuilder();
    if (random.nextInt(30) == 0) {
      s.append("\r\n");
    }
    s.append(random.nextInt(8) == 0 ? pick(random, METHODS) : "GET").append(' ')
        .append(random.nextInt(6) == 0 ? pick(random, TARGETS) : "/hello?a=b").append(' ')
        .append(random.nextInt(8) == 0 ? pick(random, VERSIONS) : "HTTP/1.1").append(eol);
    int bodyLength = -1;
    boolean chunked = false;
    for (int f = random.nextInt(7); f > 0; f--) {
      String name = random.nextInt(3) == 0 ? pick(random, NAMES) : "X-Field-" + f;
      String value = random.nextInt(3) == 0 ? pick(random, VALUES) : "value " + f;
      if (random.nextInt(4) == 0) {
        name = "Content-Length";
        value = Integer.toString(random.nextInt(40));
      }
      if (name.equalsIgnoreCase("content-length") && value.trim().matches("\\d{1,3}")) {
        bodyLength = Integer.parseInt(value.trim());
      }
      chunked |= name.equals("Transfer-Encoding") && value.endsWith("chunked");
      s.append(name).append(':').append(random.nextBoolean() ? " " : "").append(value);
      s.append(random.nextInt(50) == 0 ? "\r\n folded" : "").append(eol);
    }
    if (random.nextInt(4) != 0) {
      s.append("Host: h").append(eol);
    }
    s.append(eol);
    if (chunked) {
      s.append(pick(random, "3\r\nabc\r\n0\r\n\r\n", "0\r\nX-T: 1\r\n\r\n", "zz\r\n",
          "3;x=1\r\nabc\r\n0\r\n\r\n"));
    } else if (bodyLength > 0) {
      int sent = random.nextInt(10) == 0 ? random.nextInt(bodyLength + 5) : bodyLength;
      for (int i = 0; i < sent; i++) {
        s.append((char) ('a' + i % 26));
      }
    }
    return s.toString();
  }

  private static byte[] mutate(Random random, byte[] in) {
    int at = random.nextInt(in.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(in, 0, at);
    switch (random.nextInt(3)) {
      case 0 -> { // replace a byte
        out.write(MUTANTS[random.nextInt(MUTANTS.length)]);
        out.write(in, at + 1, in.length - at - 1);
      }
      case 1 -> { // insert one
        out.write(MUTANTS[random.nextInt(MUTANTS.length)]);
        out.write(in, at, in.length - at);
      }
      default -> out.write(in, at + 1, in.length - at - 1); // delete one
    }
    return out.toByteArray();
  }

  /** The stream whole (most often, so the fast path sees whole heads), or in random pieces. */
  private static List<byte[]> split(Random random, byte[] stream) {
    List<byte[]> pieces = new ArrayList<>();
    if (random.nextInt(3) != 0 || stream.length < 2) {
      pieces.add(stream);
      return pieces;
    }
    int at = 0;
    while (at < stream.length) {
      int n = 1 + random.nextInt(Math.max(1, stream.length / 3));
      n = Math.min(n, stream.length - at);
      byte[] piece = new byte[n];
      System.arraycopy(stream, at, piece, 0, n);
      pieces.add(piece);
      at += n;
    }
    return pieces;
  }

  @SafeVarargs
  private static <T> T pick(Random random, T... options) {
    return options[random.nextInt(options.length)];
  }

  private static String show(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) {
      int c = x & 0xff;
      if (c == '\r') {
        s.append("\\r");
      } else if (c == '\n') {
        s.append("\\n");
      } else if (c < 0x20 || c >= 0x7f) {
        s.append(String.format("\\x%02x", c));
      } else {
        s.append((char) c);
      }
    }
    return s.toString();
  }

}
