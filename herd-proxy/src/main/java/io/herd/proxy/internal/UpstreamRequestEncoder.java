package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequestEncoder;

/**
 * Netty's request encoder, except that the header fields of a request the fast path read ({@link
 * RawHeaders}) are written as the client sent them, the gateway's edits applied, with one copy of
 * each run of kept lines instead of re-encoding every name and value. Requests with ordinary
 * headers (those the strict decoder read, those the gateway builds) are encoded as Netty does.
 * The request line and the body framing stay Netty's.
 *
 * <p>Not thread-safe: one per worker connection, like Netty's.
 */
public final class UpstreamRequestEncoder extends HttpRequestEncoder {

  @Override
  protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
    if (headers instanceof RawHeaders raw) {
      buf.ensureWritable(raw.encodedSizeHint());
      raw.writeTo(buf);
    } else {
      super.encodeHeaders(headers, buf);
    }
  }
}
