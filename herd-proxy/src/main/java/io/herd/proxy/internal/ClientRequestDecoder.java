package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;
import java.util.List;

/**
 * The request decoder of a client connection: ordinary requests take a fast path that reads the
 * head once and never builds a header map ({@link RequestHeadScanner}, {@link RawHeaders}), and
 * their body as slices of what was read (no copy); every other request goes, from its first byte,
 * to the {@link StrictRequestDecoder}, Netty's decoder with the gateway's smuggling defences.
 *
 * <p>Design. Each request starts on the fast path ({@link Mode#HEAD}) if its whole head is in
 * what was read (as a small head almost always is), and the scanner reads the head. A head it
 * accepts becomes a request whose fields are read in place; its Content-Length body follows as
 * {@link DefaultHttpContent} slices of at most the chunk size ({@link Mode#BODY}), exactly as
 * Netty frames it. A head it does not accept (anything unusual: a chunked body, a malformed or
 * oversized head, a leading empty line), and one that is not all there yet, is handed unconsumed
 * to the strict decoder ({@link Mode#STRICT}), which decodes that request to its end or refuses
 * it, as it always did; the next request starts on the fast path again. So the strict decoder's
 * defences and answers are the only ones: the fast path takes only whole heads that the strict
 * decoder would read the same way, and a bad head is still refused at its first bad byte, not
 * when its end arrives. A refused request stops the connection's decoding, as before.
 *
 * <p>It fires {@link StrictRequestDecoder#HEAD_STARTED} once per request head, whichever path
 * reads it.
 *
 * <p>Not thread-safe: one per connection, on its event loop.
 */
public final class ClientRequestDecoder extends ByteToMessageDecoder {

  private enum Mode {
    /** Between requests or inside a head the fast path gathers. */
    HEAD,
    /** Inside a Content-Length body of a request read by the fast path. */
    BODY,
    /** The strict decoder reads the current request (or refused one: then for good). */
    STRICT
  }

  private final StrictRequestDecoder strict;
  private final RequestHeadScanner scanner;
  private final int maxChunkSize;
  /** A longer head goes to the strict decoder, which knows the limits. */
  private final int headLimit;
  private final ByteProcessor emptyLineFinder = this::findEmptyLine;

  private Mode mode = Mode.HEAD;
  /** Whether HEAD_STARTED was fired for the request being gathered. */
  private boolean announced;
  /** How much of the CRLF CRLF that ends a head the search matched. */
  private int matched;
  private long remaining;

  public ClientRequestDecoder(HttpDecoderConfig config) {
    this.strict = new StrictRequestDecoder(config, false);
    this.scanner =
        new RequestHeadScanner(config.getMaxInitialLineLength(), config.getMaxHeaderSize());
    this.maxChunkSize = config.getMaxChunkSize();
    this.headLimit = config.getMaxInitialLineLength() + config.getMaxHeaderSize() + 4;
  }

  /**
   * Whether bytes of a request head that is not complete yet have arrived: the next request
   * started, so its header deadline applies rather than the keep-alive one.
   */
  public boolean midHead() {
    return switch (mode) {
      case HEAD -> announced;
      case BODY -> false;
      case STRICT -> strict.midHead();
    };
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    switch (mode) {
      case HEAD -> decodeHead(ctx, in, out);
      case BODY -> decodeBody(in, out);
      case STRICT -> decodeStrict(ctx, in, out);
    }
  }

  private void decodeHead(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    int readable = in.readableBytes();
    if (readable == 0) {
      return;
    }
    if (!announced) {
      announced = true;
      ctx.fireUserEventTriggered(StrictRequestDecoder.HEAD_STARTED);
    }
    matched = 0;
    int found = in.forEachByte(in.readerIndex(), readable, emptyLineFinder);
    if (found < 0 || found + 1 - in.readerIndex() > headLimit) {
      // Not all there: the strict decoder reads it as it arrives, and refuses a bad one at its
      // first bad byte, as it always did (the fast path would only notice at the head's end).
      handOver(ctx, in, out);
      return;
    }
    int length = found + 1 - in.readerIndex();
    byte[] head = new byte[length];
    in.getBytes(in.readerIndex(), head);
    HttpRequest request = scanner.scan(head);
    if (request == null) {
      handOver(ctx, in, out);
      return;
    }
    in.skipBytes(length);
    nextHead();
    out.add(request);
    long contentLength = scanner.contentLength();
    if (contentLength == 0) {
      out.add(LastHttpContent.EMPTY_LAST_CONTENT);
    } else {
      remaining = contentLength;
      mode = Mode.BODY;
    }
  }

  /** Finds the CRLF CRLF that ends a head. */
  private boolean findEmptyLine(byte b) {
    if (b == (matched % 2 == 0 ? '\r' : '\n')) {
      matched++;
    } else {
      matched = b == '\r' ? 1 : 0;
    }
    return matched < 4;
  }

  private void nextHead() {
    announced = false;
  }

  private void decodeBody(ByteBuf in, List<Object> out) {
    int n = (int) Math.min(Math.min(remaining, in.readableBytes()), maxChunkSize);
    if (n == 0) {
      return;
    }
    ByteBuf piece = in.readRetainedSlice(n);
    remaining -= n;
    if (remaining == 0) {
      mode = Mode.HEAD;
      out.add(new DefaultLastHttpContent(piece, EmptyHttpHeaders.INSTANCE));
    } else {
      out.add(new DefaultHttpContent(piece));
    }
  }

  /** The request at the reader index, none of it consumed, is the strict decoder's. */
  private void handOver(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    mode = Mode.STRICT;
    decodeStrict(ctx, in, out);
  }

  private void decodeStrict(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    int before = out.size();
    strict.decode(ctx, in, out);
    for (int i = before; i < out.size(); i++) {
      if (out.get(i) instanceof LastHttpContent last && last.decoderResult().isSuccess()) {
        mode = Mode.HEAD; // that request is complete: the next one starts on the fast path
        nextHead();
      } else if (((HttpObject) out.get(i)).decoderResult().isFailure()) {
        mode = Mode.STRICT; // refused: the strict decoder discards the rest, for good
      }
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    if (mode == Mode.STRICT) {
      strict.decodeLast(ctx, in, out);
    } else {
      super.decodeLast(ctx, in, out);
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
    strict.handlerRemoved(ctx); // its own scratch buffer; it never held our bytes
  }
}
