package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.herd.proxy.LeakCheckExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Differential fuzzing of the worker-response head scanner: thousands of generated heads, valid
 * and subtly broken (framing conflicts, bad tokens, control bytes, bare LF, obs-fold, odd status
 * lines), and random byte mutations of them, each fed to the real decoder in random pieces and
 * read by the simple {@link ResponseHeadReference}. Both must agree whether a head is accepted,
 * refused or incomplete, and on what an accepted one says; and an accepted head must go to the
 * client byte for byte as it came when the gateway has nothing to change.
 *
 * <p>The seed is printed with any disagreement; rerun one with {@code -Dfuzz.seed=<seed>}.
 */
@ExtendWith(LeakCheckExtension.class)
class ResponseHeadFuzzTest {

  private static final int CASES = 3000;

  private static final String[] NAMES = {
      "Content-Type", "Content-Length", "content-length", "Transfer-Encoding", "transfer-encoding",
      "Connection", "Keep-Alive", "Set-Cookie", "X-Custom", "x-lower", "Upgrade", "Trailer",
      "Proxy-Foo", "Date", "ETag", "X-Herd-Cold-Start", "Cache-Control", "!#$%&'*+-.^_`|~09Az",
  };
  private static final String[] BAD_NAMES = {
      "Content-Length ", " X-A", "X A", "", "X\u00e9", "X@A", "X\u0000A", "X\"A", "X(A)",
  };
  private static final String[] CONTENT_LENGTHS = {
      "0", "5", "16384", "007", "123456789012345678", "1234567890123456789", " 5", "5 ", "5, 5",
      "-1", "+5", "0x10", "", "5\u0000", "\t12\t",
  };
  private static final String[] TRANSFER_ENCODINGS = {
      "chunked", "Chunked", "CHUNKED", " chunked ", "gzip, chunked", "chunked, gzip", "identity",
      "chunked;q=1", "chunk", "",
  };
  private static final char[] INTERESTING = {
      ' ', '\t', '\r', '\n', ':', ',', ';', '\u0000', '\u007f', '\u0080', '\u00ff', 'a', '0', '"',
  };

  @Test
  void theScannerAndTheReferenceAgreeOnEveryHead() {
    long seed = Long.getLong("fuzz.seed", System.nanoTime());
    SplittableRandom random = new SplittableRandom(seed);
    Map<ResponseHeadReference.Verdict, Integer> seen = new java.util.EnumMap<>(
        ResponseHeadReference.Verdict.class);
    for (int i = 0; i < CASES; i++) {
      String wire = generate(random);
      if (random.nextInt(10) < 3) {
        wire = mutate(random, wire);
      }
      ResponseHeadReference.Result expected = ResponseHeadReference.read(wire);
      seen.merge(expected.verdict(), 1, Integer::sum);
      try {
        check(random, wire, expected);
      } catch (AssertionError | RuntimeException e) {
        fail("seed " + seed + ", case " + i + ": " + show(wire) + "\n" + e.getMessage(), e);
      }
    }
    assertThat(seen).as("the generator covers every verdict (seed %d)", seed)
        .containsKeys(ResponseHeadReference.Verdict.values());
    assertThat(seen.get(ResponseHeadReference.Verdict.ACCEPT)).isGreaterThan(CASES / 5);
    assertThat(seen.get(ResponseHeadReference.Verdict.REJECT)).isGreaterThan(CASES / 5);
  }

  private static void check(SplittableRandom random, String wire,
      ResponseHeadReference.Result expected) {
    EmbeddedChannel ch = UpstreamResponseDecoderTest.channel(false);
    byte[] bytes = wire.getBytes(StandardCharsets.ISO_8859_1);
    int cut1 = bytes.length == 0 ? 0 : random.nextInt(bytes.length + 1);
    int cut2 = cut1 + (bytes.length == cut1 ? 0 : random.nextInt(bytes.length - cut1 + 1));
    List<Object> out = new ArrayList<>();
    try {
      for (int[] piece : new int[][] {{0, cut1}, {cut1, cut2}, {cut2, bytes.length}}) {
        if (piece[1] > piece[0]) {
          ch.writeInbound(Unpooled.wrappedBuffer(bytes, piece[0], piece[1] - piece[0]));
        }
        for (Object m; (m = ch.readInbound()) != null; ) {
          out.add(m);
        }
      }
      Object first = out.isEmpty() ? null : out.get(0);
      switch (expected.verdict()) {
        case INCOMPLETE -> assertThat(first).as("an incomplete head decodes to nothing yet").isNull();
        case REJECT -> {
          assertThat(first).as("a refused head").isNotNull();
          assertThat(((HttpObject) first).decoderResult().isFailure())
              .as("the reference refuses it: %s", first).isTrue();
        }
        case ACCEPT -> {
          assertThat(first).as("an accepted head").isInstanceOf(RawResponseHead.class);
          accepted((RawResponseHead) first, expected);
        }
      }
    } finally {
      out.forEach(ReferenceCountUtil::release);
      ch.finishAndReleaseAll();
    }
  }

  private static void accepted(RawResponseHead head, ResponseHeadReference.Result expected) {
    assertThat(head.decoderResult().isSuccess()).isTrue();
    assertThat(head.protocolVersion().text()).isEqualTo(expected.version());
    assertThat(head.code()).isEqualTo(expected.code());
    assertThat(head.status().reasonPhrase()).isEqualTo(expected.reason());
    assertThat(head.contentLength()).isEqualTo(expected.contentLength());
    assertThat(head.chunked()).isEqualTo(expected.chunked());
    if (!expected.fields().isEmpty()) {
      ResponseHeadReference.Field f = expected.fields().get(0);
      String firstOfName = expected.fields().stream()
          .filter(x -> x.name().equalsIgnoreCase(f.name())).findFirst().orElseThrow().value();
      assertThat(RawResponseHead.header(head, f.name())).isEqualTo(firstOfName);
    }
    if (head.passThrough()) {
      EmbeddedChannel client = new EmbeddedChannel(new ClientResponseEncoder());
      client.writeOutbound(head.retain()); // the encoder releases what it writes
      ByteBuf written = client.readOutbound();
      try {
        assertThat(written.toString(StandardCharsets.ISO_8859_1))
            .as("an unedited head goes to the client byte for byte").isEqualTo(expected.head());
      } finally {
        written.release();
        client.finishAndReleaseAll();
      }
    }
    List<ResponseHeadReference.Field> fields = new ArrayList<>();
    head.headers().forEach(e -> fields.add(new ResponseHeadReference.Field(e.getKey(),
        e.getValue())));
    assertThat(fields).as("the materialized fields").isEqualTo(expected.fields());
  }

  // ---- generation ----

  private static String generate(SplittableRandom r) {
    StringBuilder b = new StringBuilder();
    if (r.nextInt(20) == 0) {
      b.append(r.nextBoolean() ? "\r\n" : "\n");
    }
    b.append(pick(r, 0.85, new String[] {"HTTP/1.1", "HTTP/1.0"},
        new String[] {"HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/1.10", "HTTP/1"}));
    b.append(' ');
    int kind = r.nextInt(40);
    if (kind == 0) {
      b.append(pick(r, 0, new String[0], new String[] {"099", "1000", "2x0", "20", "000", "-20"}));
    } else {
      b.append(100 + r.nextInt(500));
    }
    switch (r.nextInt(6)) {
      case 0 -> { } // no reason phrase
      case 1 -> b.append(' ');
      case 2 -> b.append(" OK");
      default -> b.append(' ').append(text(r, 12));
    }
    eol(r, b);
    int n = r.nextInt(9);
    for (int i = 0; i < n; i++) {
      if (r.nextInt(60) == 0) {
        b.append(r.nextBoolean() ? " folded" : "\tfolded");
        eol(r, b);
        continue;
      }
      String name = r.nextInt(40) == 0 ? BAD_NAMES[r.nextInt(BAD_NAMES.length)]
          : r.nextInt(4) == 0 ? token(r) : NAMES[r.nextInt(NAMES.length)];
      String value;
      String lower = name.toLowerCase(java.util.Locale.ROOT);
      if (lower.equals("content-length")) {
        value = r.nextInt(4) == 0 ? CONTENT_LENGTHS[r.nextInt(CONTENT_LENGTHS.length)]
            : Integer.toString(r.nextInt(100000));
      } else if (lower.equals("transfer-encoding")) {
        value = r.nextInt(3) == 0 ? TRANSFER_ENCODINGS[r.nextInt(TRANSFER_ENCODINGS.length)]
            : "chunked";
      } else if (lower.equals("connection")) {
        value = pick(r, 0.7, new String[] {"close", "keep-alive", "Upgrade", "X-Custom, close"},
            new String[] {"", ",,", "Keep-Alive , x-lower"});
      } else {
        value = text(r, 20);
      }
      b.append(name).append(':').append(ows(r)).append(value).append(ows(r));
      eol(r, b);
    }
    eol(r, b);
    return b.toString();
  }

  private static String pick(SplittableRandom r, double pGood, String[] good, String[] bad) {
    return good.length > 0 && r.nextDouble() < pGood ? good[r.nextInt(good.length)]
        : bad[r.nextInt(bad.length)];
  }

  private static void eol(SplittableRandom r, StringBuilder b) {
    b.append(r.nextInt(150) == 0 ? "\n" : "\r\n");
  }

  private static String ows(SplittableRandom r) {
    return switch (r.nextInt(8)) {
      case 0 -> " ";
      case 1 -> "\t";
      case 2 -> "  \t";
      default -> r.nextBoolean() ? " " : "";
    };
  }

  private static String token(SplittableRandom r) {
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~";
    StringBuilder b = new StringBuilder();
    int n = 1 + r.nextInt(12);
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /** A value: mostly printable ASCII, some obs-text, rarely a control byte. */
  private static String text(SplittableRandom r, int max) {
    StringBuilder b = new StringBuilder();
    int n = r.nextInt(max + 1);
    for (int i = 0; i < n; i++) {
      int k = r.nextInt(200);
      if (k == 0) {
        b.append(INTERESTING[r.nextInt(INTERESTING.length)]);
      } else if (k < 8) {
        b.append((char) (0x80 + r.nextInt(0x80)));
      } else {
        b.append((char) (0x20 + r.nextInt(0x5f)));
      }
    }
    return b.toString();
  }

  private static String mutate(SplittableRandom r, String wire) {
    StringBuilder b = new StringBuilder(wire);
    int edits = 1 + r.nextInt(3);
    for (int i = 0; i < edits && b.length() > 0; i++) {
      int at = r.nextInt(b.length());
      char c = r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)]
          : (char) r.nextInt(256);
      switch (r.nextInt(3)) {
        case 0 -> b.setCharAt(at, c);
        case 1 -> b.insert(at, c);
        default -> b.deleteCharAt(at);
      }
    }
    return b.toString();
  }

  private static String show(String wire) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : wire.toCharArray()) {
      if (c == '\r') {
        b.append("\\r");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c < 0x20 || c >= 0x7f) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
