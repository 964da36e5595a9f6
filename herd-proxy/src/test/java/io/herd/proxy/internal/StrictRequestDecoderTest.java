package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import io.herd.proxy.LeakCheckExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheckExtension.class)
class StrictRequestDecoderTest {

  private final List<Object> events = new ArrayList<>();

  private EmbeddedChannel channel() {
    return new EmbeddedChannel(new StrictRequestDecoder(new HttpDecoderConfig()),
        new ChannelInboundHandlerAdapter() {
          @Override
          public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
          }
        });
  }

  private static List<HttpObject> feed(EmbeddedChannel ch, String... pieces) {
    for (String piece : pieces) {
      ch.writeInbound(Unpooled.copiedBuffer(piece, StandardCharsets.ISO_8859_1));
    }
    List<HttpObject> out = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      out.add((HttpObject) o);
    }
    return out;
  }

  private static void release(List<HttpObject> objects) {
    objects.forEach(ReferenceCountUtil::release);
  }

  @Test
  void pipelinedRequestsSplitAnywhereAreAllDecoded() {
    EmbeddedChannel ch = channel();
    String two = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        + "GET /b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
    List<String> pieces = new ArrayList<>();
    for (int i = 0; i < two.length(); i += 5) {
      pieces.add(two.substring(i, Math.min(two.length(), i + 5)));
    }
    List<HttpObject> out = feed(ch, pieces.toArray(String[]::new));
    List<String> uris = out.stream().filter(o -> o instanceof HttpRequest)
        .map(o -> ((HttpRequest) o).uri()).toList();
    assertThat(uris).containsExactly("/a", "/b");
    assertThat(out).allMatch(o -> o.decoderResult().isSuccess());
    assertThat(out.stream().filter(o -> o instanceof LastHttpContent).count()).isEqualTo(2);
    assertThat(events).as("one head-started event per request").hasSize(2)
        .allMatch(e -> e == StrictRequestDecoder.HEAD_STARTED);
    release(out);
    ch.finishAndReleaseAll();
  }

  @Test
  void obsFoldInTheSecondRequestIsRejectedEvenAfterABody() {
    EmbeddedChannel ch = channel();
    List<HttpObject> out = feed(ch,
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab\r\n ",
        "GET /b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n");
    HttpObject last = out.get(out.size() - 1);
    assertThat(last.decoderResult().isFailure()).isTrue();
    assertThat(last.decoderResult().cause()).hasMessageContaining("obs-fold");
    assertThat(out.get(0).decoderResult().isSuccess()).as("body bytes that look like a fold are fine").isTrue();
    release(out);
    ch.finishAndReleaseAll();
  }

  @Test
  void controlCharactersAndBareLineEndingsAreRejected() {
    for (String bad : List.of("X-A: a\u0000b\r\n", "X-A: a\u001bb\r\n", "X-A: a\nX-B: b\r\n", "X-A: a\rb\r\n")) {
      EmbeddedChannel ch = channel();
      List<HttpObject> out = feed(ch, "GET / HTTP/1.1\r\nHost: h\r\n" + bad + "\r\n");
      assertThat(out).hasSize(1);
      assertThat(out.get(0).decoderResult().isFailure()).as("rejects %s", bad.replace("\r", "\\r")).isTrue();
      assertThat(feed(ch, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")).as("and discards what follows").isEmpty();
      release(out);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void theRequestLineMustBeMethodTargetAndHttp11Or10WithSingleSpaces() {
    for (String ok : List.of("GET / HTTP/1.1", "GET / HTTP/1.0", "OPTIONS * HTTP/1.1")) {
      EmbeddedChannel ch = channel();
      List<HttpObject> out = feed(ch, ok + "\r\nHost: h\r\n\r\n");
      assertThat(out.get(0).decoderResult().isSuccess()).as(ok).isTrue();
      release(out);
      ch.finishAndReleaseAll();
    }
    for (String line : List.of("GET / HTTP/2.0", "GET / HTTP/1.2", "GET / HTTP/0.9")) {
      assertThat(refusalOf(line)).as(line).isEqualTo(Refusal.VERSION_NOT_SUPPORTED);
    }
    for (String line : List.of("GET / http/1.1", "GET / HTTP/1", "GET /", "GET / HTTP/1.1x",
        "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET /a b HTTP/1.1", "GET\t/ HTTP/1.1", "GET / HTTP/11")) {
      assertThat(refusalOf(line)).as(line).isEqualTo(Refusal.MALFORMED);
    }
  }

  private Refusal refusalOf(String requestLine) {
    EmbeddedChannel ch = channel();
    List<HttpObject> out = feed(ch, requestLine + "\r\nHost: h\r\n\r\n");
    try {
      assertThat(out.get(0).decoderResult().isFailure()).as(requestLine).isTrue();
      return ((StrictRequestDecoder.MalformedRequestException) out.get(0).decoderResult().cause())
          .refusal();
    } finally {
      release(out);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void moreThanOneContentLengthFieldIsRejectedInHttp10AsInHttp11() {
    for (String version : List.of("HTTP/1.0", "HTTP/1.1")) {
      for (String second : List.of("Content-Length: 50", "content-length: 3", "CONTENT-LENGTH:3")) {
        EmbeddedChannel ch = channel();
        List<HttpObject> out = feed(ch, "POST / " + version + "\r\nHost: h\r\nContent-Length: 3\r\n"
            + "X-A: 1\r\n" + second + "\r\n\r\nabc");
        assertThat(out.get(0).decoderResult().isFailure()).as("%s with %s", version, second).isTrue();
        release(out);
        ch.finishAndReleaseAll();
      }
    }
    for (String lookAlike : List.of("Content-Lengths: 3", "X-Content-Length: 3", "Content-Lengt: 3")) {
      EmbeddedChannel ch = channel();
      List<HttpObject> out = feed(ch, "POST / HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\n"
          + lookAlike + "\r\n\r\nabc");
      assertThat(out.get(0).decoderResult().isSuccess()).as(lookAlike).isTrue();
      release(out);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aHeadOfManyShortLinesIsCheckedToItsEnd() {
    // Netty counts neither CR nor LF toward its limits (4096 + 8192 here): 3500 lines "a:" are
    // 14000 bytes on the wire but 7000 to Netty, which takes them; what follows must still be
    // checked, or obs-fold and a second Content-Length pass behind them.
    String filler = "a:\r\n".repeat(3500);
    for (String late : List.of("X-Late: a\r\n b\r\n", "Content-Length: 50\r\n", "X-Late: \u00ff\r\n")) {
      EmbeddedChannel ch = channel();
      List<HttpObject> out = feed(ch, "POST / HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\n" + filler
          + late + "\r\nabc");
      assertThat(out.get(0).decoderResult().isFailure())
          .as("%s after a long head", late.replace("\r\n", "\\r\\n")).isTrue();
      release(out);
      ch.finishAndReleaseAll();
    }
    // Where scanning stops, Netty refuses the head itself: its limit is cumulative.
    EmbeddedChannel ch = channel();
    List<HttpObject> out = feed(ch, "GET / HTTP/1.1\r\nHost: h\r\n"
        + ("X-A: " + "v".repeat(45) + "\r\n").repeat(200) + "\r\n");
    assertThat(out.get(0).decoderResult().isFailure()).as("10000 counted header bytes").isTrue();
    release(out);
    ch.finishAndReleaseAll();
  }

  @Test
  void tabInAValueIsAllowed() {
    EmbeddedChannel ch = channel();
    List<HttpObject> out = feed(ch, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n\r\n");
    assertThat(out.get(0).decoderResult().isSuccess()).isTrue();
    assertThat(((HttpRequest) out.get(0)).headers().get("X-A")).isEqualTo("a\tb");
    release(out);
    ch.finishAndReleaseAll();
  }

  @Test
  void aTooLongChunkSizeLineIsAMalformedBodyNotATooLongRequestLine() {
    EmbeddedChannel ch = channel();
    List<HttpObject> out = feed(ch, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5;x=" + "y".repeat(10_000) + "\r\nhello\r\n0\r\n\r\n");
    assertThat(out.get(0).decoderResult().isSuccess()).isTrue();
    HttpObject failed = out.get(out.size() - 1);
    assertThat(failed).isInstanceOf(LastHttpContent.class);
    assertThat(failed.decoderResult().isFailure()).isTrue();
    // 414 names the request target; a chunk-size line is part of the body's framing.
    assertThat(ErrorResponses.forMalformed(failed.decoderResult().cause()).status().code())
        .isEqualTo(400);
    release(out);
    ch.finishAndReleaseAll();
  }
}
