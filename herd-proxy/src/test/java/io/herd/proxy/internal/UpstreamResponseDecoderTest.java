package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.LeakCheckExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The worker side's response decoder: framing read correctly, bodies passed as slices, and every
 * response a hostile or broken worker could use to shift a boundary refused as a failed message.
 */
@ExtendWith(LeakCheckExtension.class)
class UpstreamResponseDecoderTest {

  static EmbeddedChannel channel(boolean headRequest) {
    UpstreamResponseDecoder decoder = new UpstreamResponseDecoder(new HttpDecoderConfig()
        .setMaxInitialLineLength(4096).setMaxHeaderSize(8192));
    decoder.expectHeadResponse(headRequest);
    return new EmbeddedChannel(decoder);
  }

  /** Everything decoded from {@code wire} fed in one piece; the channel is then closed. */
  static List<Object> decode(String wire, boolean headRequest, boolean close) {
    EmbeddedChannel ch = channel(headRequest);
    ch.writeInbound(ascii(wire));
    if (close) {
      ch.finish();
    }
    List<Object> out = new ArrayList<>();
    for (Object m; (m = ch.readInbound()) != null; ) {
      out.add(m);
    }
    ch.finishAndReleaseAll();
    return out;
  }

  static ByteBuf ascii(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }

  private static void releaseAll(List<Object> msgs) {
    msgs.forEach(ReferenceCountUtil::release);
  }

  private static String body(List<Object> msgs) {
    StringBuilder b = new StringBuilder();
    for (Object m : msgs) {
      if (m instanceof HttpContent c) {
        b.append(c.content().toString(StandardCharsets.ISO_8859_1));
      }
    }
    return b.toString();
  }

  private static boolean failed(List<Object> msgs) {
    return msgs.stream().anyMatch(m -> ((HttpObject) m).decoderResult().isFailure());
  }

  @Test
  void aContentLengthResponseIsOneHeadAndItsBodyAsASliceOfWhatWasRead() {
    EmbeddedChannel ch = channel(false);
    ByteBuf wire = ascii("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
    ch.writeInbound(wire);
    RawResponseHead head = ch.readInbound();
    LastHttpContent last = ch.readInbound();
    try {
      assertThat(head.code()).isEqualTo(200);
      assertThat(head.contentLength()).isEqualTo(5);
      assertThat(head.keepAlive()).isTrue();
      assertThat(RawResponseHead.header(head, "x-a")).isEqualTo("b");
      assertThat(head.raw()).as("reading a field does not materialize the head").isTrue();
      assertThat(last.content().toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
      assertThat(last.content().unwrap()).as("the body is a slice, not a copy").isNotNull();
    } finally {
      head.release();
      last.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aHeadSplitByteByByteDecodesAsInOnePiece() {
    String wire = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
        + "Connection: close\r\n\r\nabc";
    EmbeddedChannel ch = channel(false);
    for (byte b : wire.getBytes(StandardCharsets.US_ASCII)) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
    List<Object> out = new ArrayList<>();
    for (Object m; (m = ch.readInbound()) != null; ) {
      out.add(m);
    }
    try {
      assertThat(out.get(0)).isInstanceOf(RawResponseHead.class);
      RawResponseHead head = (RawResponseHead) out.get(0);
      assertThat(head.code()).isEqualTo(404);
      assertThat(head.keepAlive()).isFalse();
      assertThat(head.status().reasonPhrase()).isEqualTo("Not Found");
      assertThat(body(out)).isEqualTo("abc");
      assertThat(out.get(out.size() - 1)).isInstanceOf(LastHttpContent.class);
      assertThat(failed(out)).isFalse();
    } finally {
      releaseAll(out);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aChunkedBodyIsCheckedAndItsDataAndTrailersPassOn() {
    List<Object> out = decode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\nContent-Length: 9\r\n\r\n",
        false, false);
    try {
      assertThat(failed(out)).isFalse();
      assertThat(((RawResponseHead) out.get(0)).chunked()).isTrue();
      assertThat(body(out)).isEqualTo("hello world");
      LastHttpContent last = (LastHttpContent) out.get(out.size() - 1);
      assertThat(last.trailingHeaders().get("X-Checksum")).isEqualTo("42");
      assertThat(last.trailingHeaders().contains("Content-Length"))
          .as("framing fields in trailers are dropped").isFalse();
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void aBodyDelimitedByTheCloseEndsWithTheClose() {
    List<Object> out = decode("HTTP/1.0 200 OK\r\n\r\nuntil the end", false, true);
    try {
      assertThat(failed(out)).isFalse();
      assertThat(body(out)).isEqualTo("until the end");
      assertThat(out.get(out.size() - 1)).isInstanceOf(LastHttpContent.class);
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void theAnswerToHeadHasNoBodyWhateverItsFieldsSayAndTheNextResponseFollows() {
    List<Object> out = decode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        + "HTTP/1.1 204 No Content\r\n\r\n", true, false);
    try {
      assertThat(failed(out)).isFalse();
      assertThat(out).hasSize(4);
      assertThat(out.get(1)).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
      assertThat(((RawResponseHead) out.get(2)).code()).isEqualTo(204);
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void interimResponsesAreCompleteMessagesBeforeTheFinalOne() {
    List<Object> out = decode("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>"
        + "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, false);
    try {
      assertThat(out).hasSize(6);
      assertThat(body(out)).isEqualTo("ok");
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void afterASwitchTheBytesPassRaw() {
    EmbeddedChannel ch = channel(false);
    ch.writeInbound(ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\n\r\n\u0081\u0002hi"));
    RawResponseHead head = ch.readInbound();
    ByteBuf rest = ch.readInbound();
    try {
      assertThat(head.code()).isEqualTo(101);
      assertThat(rest.toString(StandardCharsets.ISO_8859_1)).isEqualTo("\u0081\u0002hi");
    } finally {
      head.release();
      rest.release();
      ch.finishAndReleaseAll();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      // conflicting or repeated Content-Length
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhello",
      // Content-Length with Transfer-Encoding, codings other than chunked
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      // bad chunks
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\u0000b\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
      // heads that do not parse the same way everywhere
      "HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello",
      "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\n Content-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nX-\u00e9: a\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1  200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 099 Low\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 20x OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "http/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 O\u0007K\r\nContent-Length: 5\r\n\r\nhello",
      "garbage\r\n\r\n",
  })
  void aResponseThatCouldShiftABoundaryIsAFailedMessage(String wire) {
    List<Object> out = decode(wire, false, false);
    try {
      assertThat(failed(out)).as("decoding %s", wire.replace("\r", "\\r").replace("\n", "\\n"))
          .isTrue();
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void nothingAfterAFailureIsDecoded() {
    List<Object> out = decode("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
        + "xHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, false);
    try {
      assertThat(out).hasSize(1);
      assertThat(failed(out)).isTrue();
    } finally {
      releaseAll(out);
    }
  }

  @Test
  void anOversizedHeadIsRefusedWithoutWaitingForItsEnd() {
    String big = "HTTP/1.1 200 OK\r\n" + "X-Big: " + "a".repeat(9000) + "\r\n";
    List<Object> out = decode(big, false, false);
    try {
      assertThat(failed(out)).isTrue();
    } finally {
      releaseAll(out);
    }
    List<Object> longLine = decode("HTTP/1.1 200 " + "O".repeat(5000), false, false);
    try {
      assertThat(failed(longLine)).isTrue();
    } finally {
      releaseAll(longLine);
    }
  }

  @Test
  void aCloseInsideAHeadOrAnAnnouncedBodyIsAFailureButBetweenResponsesIsNot() {
    for (String cut : List.of("HTTP/1.1 200 OK\r\nContent-Le",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")) {
      List<Object> out = decode(cut, false, true);
      try {
        assertThat(failed(out)).as("closed after %s", cut).isTrue();
      } finally {
        releaseAll(out);
      }
    }
    List<Object> out = decode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n", false, true);
    try {
      assertThat(failed(out)).as("a stray CRLF after a response is skipped").isFalse();
      assertThat(body(out)).isEqualTo("ok");
    } finally {
      releaseAll(out);
    }
  }
}
