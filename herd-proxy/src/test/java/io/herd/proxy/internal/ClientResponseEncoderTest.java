package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.LeakCheckExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The client side's encoder: a worker's head goes out as its own bytes with the gateway's edits,
 * its body as it came (chunk-framed when the client gets it chunked), and everything else the way
 * Netty's encoder writes it.
 */
@ExtendWith(LeakCheckExtension.class)
class ClientResponseEncoderTest {

  private static RawResponseHead head(String wire) {
    EmbeddedChannel ch = UpstreamResponseDecoderTest.channel(false);
    ch.writeInbound(UpstreamResponseDecoderTest.ascii(wire));
    RawResponseHead head = ch.readInbound();
    ch.finishAndReleaseAll();
    return head;
  }

  private static String written(EmbeddedChannel ch) {
    StringBuilder b = new StringBuilder();
    for (ByteBuf buf; (buf = ch.readOutbound()) != null; ) {
      b.append(buf.toString(StandardCharsets.ISO_8859_1));
      buf.release();
    }
    return b.toString();
  }

  private static DefaultLastHttpContent last(String s) {
    return new DefaultLastHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
  }

  @Test
  void anUneditedHeadGoesOutByteForByte() {
    String wire = "HTTP/1.1 200 Fine Thanks\r\nContent-Type: text/plain\r\nx-lower:  spaced \r\n"
        + "Content-Length: 5\r\n\r\n";
    EmbeddedChannel ch = new EmbeddedChannel(new ClientResponseEncoder());
    ch.writeOutbound(head(wire + "hello"), last("hello"));
    assertThat(written(ch)).isEqualTo(wire + "hello");
    ch.finishAndReleaseAll();
  }

  @Test
  void hopByHopFieldsGoAndTheGatewaysFieldsAreAppended() {
    RawResponseHead head = head("HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Secret\r\n"
        + "X-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\nProxy-Foo: p\r\n"
        + "X-Herd-Cold-Start: 999\r\nTE: trailers\r\nX-Kept: k\r\n\r\nok");
    head.dropHopByHop();
    head.setProtocolVersion(HttpVersion.HTTP_1_1);
    head.coldStart(12);
    head.addSetCookie("k=v; Path=/");
    head.connection(RawResponseHead.ConnectionField.CLOSE);
    assertThat(RawResponseHead.header(head, "X-Herd-Cold-Start")).isEqualTo("12");
    EmbeddedChannel ch = new EmbeddedChannel(new ClientResponseEncoder());
    ch.writeOutbound(head, last("ok"));
    assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Kept: k\r\n"
        + "X-Herd-Cold-Start: 12\r\nset-cookie: k=v; Path=/\r\nconnection: close\r\n\r\nok");
    ch.finishAndReleaseAll();
  }

  @Test
  void aBodyDelimitedByTheCloseIsChunkedForTheClient() {
    RawResponseHead head = head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    head.clientChunked(true, true);
    EmbeddedChannel ch = new EmbeddedChannel(new ClientResponseEncoder());
    ch.writeOutbound(head,
        new DefaultHttpContent(Unpooled.copiedBuffer("0123456789abcdefX", StandardCharsets.US_ASCII)),
        LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        + "transfer-encoding: chunked\r\n\r\n11\r\n0123456789abcdefX\r\n0\r\n\r\n");
    ch.finishAndReleaseAll();
  }

  @Test
  void chunkedBodiesKeepTheirTrailersAndAreDechunkedForAnHttp10Client() {
    RawResponseHead head = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    EmbeddedChannel ch = new EmbeddedChannel(new ClientResponseEncoder());
    DefaultLastHttpContent end = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
    end.trailingHeaders().add("X-Sum", "1");
    ch.writeOutbound(head, new DefaultHttpContent(Unpooled.copiedBuffer("abc",
        StandardCharsets.US_ASCII)), end);
    assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n");

    RawResponseHead plain = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    plain.drop(HttpHeaderNames.TRANSFER_ENCODING);
    plain.clientChunked(false, false);
    plain.connection(RawResponseHead.ConnectionField.CLOSE);
    ch.writeOutbound(plain, last("abc"));
    assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc");
    ch.finishAndReleaseAll();
  }

  @Test
  void aMaterializedHeadAndTheGatewaysOwnAnswersAreNettys() {
    RawResponseHead head = head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\r\n\r\nok");
    head.coldStart(5);
    head.headers().set("X-A", "changed"); // materializes, with the edits applied
    assertThat(head.raw()).isFalse();
    EmbeddedChannel ch = new EmbeddedChannel(new ClientResponseEncoder());
    ch.writeOutbound(head, last("ok"));
    assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        + "X-Herd-Cold-Start: 5\r\nX-A: changed\r\n\r\nok");

    DefaultFullHttpResponse answer = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.BAD_GATEWAY, Unpooled.copiedBuffer("bad", StandardCharsets.US_ASCII));
    answer.headers().set(HttpHeaderNames.CONTENT_LENGTH, 3);
    ch.writeOutbound(answer);
    assertThat(written(ch)).isEqualTo("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\n\r\nbad");

    RawResponseHead noContent = head("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    ch.writeOutbound(noContent, LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(written(ch)).as("204 gets Netty's clean-up of its framing fields")
        .isEqualTo("HTTP/1.1 204 No Content\r\n\r\n");
    ch.finishAndReleaseAll();
  }
}
