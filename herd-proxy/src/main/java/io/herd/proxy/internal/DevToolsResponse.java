package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A DevTools discovery answer held back so that its links can be rewritten ({@link
 * DevToolsJson}): the response head and up to {@link #LIMIT} bytes of body. Only a 200 JSON answer
 * to a discovery request is held ({@link #shouldHold}); when the body turns out to be larger, the
 * head and what was held are sent on as they came and the rest streams ({@link #spill}), so the
 * gateway never holds more than this per client connection.
 *
 * <p>Owns the held bytes until {@link #complete} or {@link #spill} hands them on, or {@link
 * #release} drops them (the exchange ended early). Not thread-safe: confined to the client
 * connection's event loop, like its exchange.
 */
final class DevToolsResponse {

  /** Most body bytes held: Chromium's answers are a few KiB (about 500 bytes per tab). */
  static final int LIMIT = 1024 * 1024;

  private final HttpResponse head;
  private final DevToolsLinks links;
  private final CompositeByteBuf body;

  DevToolsResponse(HttpResponse head, DevToolsLinks links, ByteBufAllocator alloc) {
    this.head = head;
    this.links = links;
    this.body = alloc.compositeBuffer(64);
  }

  /**
   * Whether the answer with head {@code resp} to a request that may be rewritten is held: a 200
   * with a JSON content type and a body that is announced as at most {@link #LIMIT} bytes, or
   * chunked (counted as it comes).
   */
  static boolean shouldHold(HttpResponse resp, boolean headRequest) {
    if (headRequest || resp.status().code() != 200) {
      return false;
    }
    String type = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      return false;
    }
    long length = HttpUtil.getContentLength(resp, -1L);
    return length <= LIMIT && (length >= 0 || HttpUtil.isTransferEncodingChunked(resp));
  }

  HttpResponse head() {
    return head;
  }

  /** Whether {@code more} bytes still fit. */
  boolean fits(int more) {
    return (long) body.readableBytes() + more <= LIMIT;
  }

  /** Takes a piece of the body (its bytes, not the piece's trailers). */
  void add(HttpContent content) {
    ByteBuf bytes = content.content();
    if (bytes.isReadable()) {
      body.addComponent(true, bytes.retain());
    }
    content.release();
  }

  /**
   * The held body as one piece, to send after the head when the answer is not rewritten: the
   * caller writes it and owns it.
   */
  HttpContent spill() {
    return new DefaultHttpContent(body);
  }

  /**
   * The whole answer, rewritten when it has links to rewrite: the head gets the new
   * Content-Length (the body is no longer chunked), and the returned last piece owns the bytes.
   */
  LastHttpContent complete() {
    String json = body.toString(StandardCharsets.UTF_8);
    String rewritten = DevToolsJson.rewrite(json, links);
    ByteBuf bytes;
    if (rewritten == null) {
      bytes = body;
    } else {
      body.release();
      bytes = Unpooled.wrappedBuffer(rewritten.getBytes(StandardCharsets.UTF_8));
    }
    HttpHeaders h = head.headers();
    h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    h.set(HttpHeaderNames.CONTENT_LENGTH, bytes.readableBytes());
    return new DefaultLastHttpContent(bytes);
  }

  /** Drops the held bytes: the exchange ended before the answer could be sent. */
  void release() {
    if (body.refCnt() > 0) {
      body.release();
    }
  }
}
