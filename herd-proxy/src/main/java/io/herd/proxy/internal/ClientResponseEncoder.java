package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Encodes responses for a client connection. A worker's head that the gateway did not need to
 * rebuild ({@link RawResponseHead#passThrough()}) goes out as the worker's own bytes with the
 * gateway's edits, and its body pieces go out as they are (the buffers the worker connection read,
 * sliced), chunk-framed when the client gets the body chunked. Everything else (the gateway's own
 * answers, materialized heads, a 101) is Netty's {@link HttpResponseEncoder}'s, exactly as before.
 *
 * <p>The two never interleave: a response is either raw from head to last piece or Netty's, and a
 * head arriving in the middle of a raw body is a bug that fails the write, as Netty's encoder
 * does. Not thread-safe: one per client connection, on its event loop; named {@code encoder} in the
 * pipeline, which a protocol switch removes.
 */
public final class ClientResponseEncoder extends HttpResponseEncoder {

  static final short CRLF_SHORT = ('\r' << 8) | '\n';
  private static final byte[] LAST_CHUNK = "0\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(
      Unpooled.directBuffer(2).writeShort(CRLF_SHORT)).asReadOnly();

  /** How the body of the raw response in progress goes out; NONE between raw responses. */
  private enum Body {
    NONE,
    PLAIN,
    CHUNKED
  }

  private Body body = Body.NONE;

  @Override
  protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
    if (body != Body.NONE) {
      if (!(msg instanceof HttpContent content) || msg instanceof HttpMessage) {
        throw new IllegalStateException("unexpected message in a raw response body: " + msg);
      }
      try {
        encodeContent(ctx, content, out);
      } finally {
        content.release();
      }
      return;
    }
    if (msg instanceof RawResponseHead head && head.passThrough()) {
      try {
        out.add(head.encode(ctx.alloc()));
        body = head.clientChunked() ? Body.CHUNKED : Body.PLAIN;
      } finally {
        head.release();
      }
      return;
    }
    super.encode(ctx, msg, out);
  }

  private void encodeContent(ChannelHandlerContext ctx, HttpContent content, List<Object> out) {
    ByteBuf data = content.content();
    boolean last = content instanceof LastHttpContent;
    int n = data.readableBytes();
    if (body == Body.PLAIN) {
      if (n > 0) {
        out.add(data.retain());
      }
    } else {
      if (n > 0) {
        ByteBuf size = ctx.alloc().buffer(10);
        ByteBufUtil.writeAscii(size, Integer.toHexString(n));
        size.writeShort(CRLF_SHORT);
        out.add(size);
        out.add(data.retain());
        out.add(CRLF.duplicate());
      }
      if (last) {
        out.add(lastChunk(ctx, ((LastHttpContent) content).trailingHeaders()));
      }
    }
    if (last) {
      body = Body.NONE;
    }
    if (out.isEmpty()) {
      out.add(Unpooled.EMPTY_BUFFER); // the write's promise completes with this empty buffer
    }
  }

  private static ByteBuf lastChunk(ChannelHandlerContext ctx, HttpHeaders trailers) {
    ByteBuf buf = ctx.alloc().buffer(trailers.isEmpty() ? 5 : 256);
    buf.writeBytes(LAST_CHUNK);
    for (var it = trailers.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> field = it.next();
      buf.writeCharSequence(field.getKey(), StandardCharsets.US_ASCII);
      buf.writeByte(':').writeByte(' ');
      buf.writeCharSequence(field.getValue(), StandardCharsets.ISO_8859_1);
      buf.writeShort(CRLF_SHORT);
    }
    buf.writeShort(CRLF_SHORT);
    return buf;
  }
}
