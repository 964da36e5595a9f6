package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Decodes a worker's responses into a {@link RawResponseHead} and body pieces, reading only the
 * framing: the head is scanned once ({@link ResponseHeadScanner}) and kept as bytes, and body
 * pieces are slices of the inbound buffer, never copies. Chunked bodies are checked chunk by
 * chunk (the size line, the CRLF after the data, the trailer fields) and their data passed on as
 * slices; the client side frames them again.
 *
 * <p>It must be told when the request was a HEAD ({@link #expectHeadResponse}), whose response has
 * fields that promise a body that never comes; 1xx, 204 and 304 answers have no body either. A 101
 * switches the connection: what follows it passes on as raw bytes, and the handler is removed when
 * the tunnel is set up. A separate handler from the request encoder, so that the pair can be
 * taken apart at a protocol switch.
 *
 * <p>Anything that breaks the framing rules (see {@link ResponseHeadScanner} for the head; a chunk
 * size that is not hex, too long or without CRLF; a chunk not followed by CRLF; a malformed
 * trailer) becomes one message whose {@link DecoderResult} failed, and everything after it on the
 * connection is discarded: the exchange answers 502, or closes if its response already began. So
 * does a close inside a head or a body whose length was announced.
 *
 * <p>Not thread-safe: used on the worker connection's event loop only.
 */
public final class UpstreamResponseDecoder extends ByteToMessageDecoder {

  /** Longest chunk-size line, extensions included; a longer one fails the response. */
  static final int MAX_CHUNK_LINE = 4096;

  private enum State {
    /** Between responses, or inside a head. */
    HEAD,
    /** A body of announced length: {@link #remaining} bytes to go. */
    FIXED,
    /** A body delimited by the worker closing the connection. */
    UNTIL_CLOSE,
    CHUNK_SIZE,
    /** Chunk data: {@link #remaining} bytes to go. */
    CHUNK_DATA,
    /** The CRLF after a chunk's data. */
    CHUNK_END,
    TRAILERS,
    /** After a 101: raw bytes, for the tunnel. */
    UPGRADED,
    /** After a failure: everything is discarded. */
    BAD
  }

  private final ResponseHeadScanner scanner;
  private final int maxTrailerSize;
  private State state = State.HEAD;
  private long remaining;
  private boolean headRequest;
  private HttpHeaders trailers;
  private int trailerBytes;

  public UpstreamResponseDecoder(HttpDecoderConfig config) {
    this.scanner =
        new ResponseHeadScanner(config.getMaxInitialLineLength(), config.getMaxHeaderSize());
    this.maxTrailerSize = config.getMaxHeaderSize();
  }

  /** Set before each request is written. */
  public void expectHeadResponse(boolean head) {
    this.headRequest = head;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    try {
      while (in.isReadable()) {
        switch (state) {
          case HEAD -> {
            if (!scanner.started()) {
              skipLineBreaks(in);
              if (!in.isReadable()) {
                return;
              }
            }
            RawResponseHead head = scanner.scan(in);
            if (head == null) {
              return;
            }
            out.add(head);
            if (startBody(head, out)) {
              return; // a 101: nothing else of this read may be decoded before the switch
            }
          }
          case FIXED -> {
            int n = (int) Math.min(remaining, in.readableBytes());
            remaining -= n;
            ByteBuf piece = in.readRetainedSlice(n);
            if (remaining == 0) {
              out.add(new DefaultLastHttpContent(piece));
              state = State.HEAD;
            } else {
              out.add(new DefaultHttpContent(piece));
            }
          }
          case UNTIL_CLOSE -> out.add(new DefaultHttpContent(in.readRetainedSlice(in.readableBytes())));
          case CHUNK_SIZE -> {
            if (!chunkSize(in)) {
              return;
            }
          }
          case CHUNK_DATA -> {
            int n = (int) Math.min(remaining, in.readableBytes());
            remaining -= n;
            out.add(new DefaultHttpContent(in.readRetainedSlice(n)));
            if (remaining == 0) {
              state = State.CHUNK_END;
            }
          }
          case CHUNK_END -> {
            if (in.readableBytes() < 2) {
              return;
            }
            if (in.readByte() != '\r' || in.readByte() != '\n') {
              throw new CorruptedFrameException("a chunk's data is not followed by CRLF");
            }
            state = State.CHUNK_SIZE;
          }
          case TRAILERS -> {
            if (!trailerLine(in, out)) {
              return;
            }
          }
          case UPGRADED -> out.add(in.readRetainedSlice(in.readableBytes()));
          case BAD -> in.skipBytes(in.readableBytes());
        }
      }
    } catch (DecoderException e) {
      fail(in, out, e);
    }
  }

  /**
   * Sets up the body that follows {@code head}; a response without one is complete at once.
   *
   * @return whether decoding must stop here (a protocol switch)
   */
  private boolean startBody(RawResponseHead head, List<Object> out) {
    int code = head.code();
    if (code == 101) {
      state = State.UPGRADED;
      return true;
    }
    if (headRequest || code < 200 || code == 204 || code == 304) {
      out.add(LastHttpContent.EMPTY_LAST_CONTENT);
      state = State.HEAD;
    } else if (head.chunked()) {
      state = State.CHUNK_SIZE;
    } else if (head.contentLength() == 0) {
      out.add(LastHttpContent.EMPTY_LAST_CONTENT);
      state = State.HEAD;
    } else if (head.contentLength() > 0) {
      remaining = head.contentLength();
      state = State.FIXED;
    } else {
      state = State.UNTIL_CLOSE;
    }
    return false;
  }

  private static void skipLineBreaks(ByteBuf in) {
    // Netty's decoder skipped these between messages too; a stray CRLF after a body is common.
    while (in.isReadable()) {
      byte b = in.getByte(in.readerIndex());
      if (b != '\r' && b != '\n') {
        return;
      }
      in.skipBytes(1);
    }
  }

  /** Reads a chunk-size line; false when it is not complete yet. */
  private boolean chunkSize(ByteBuf in) {
    int start = in.readerIndex();
    int lf = in.indexOf(start, start + Math.min(in.readableBytes(), MAX_CHUNK_LINE + 2),
        (byte) '\n');
    if (lf < 0) {
      if (in.readableBytes() > MAX_CHUNK_LINE) {
        throw new TooLongFrameException("a chunk-size line is longer than " + MAX_CHUNK_LINE);
      }
      return false;
    }
    int end = lf - 1;
    if (end < start || in.getByte(end) != '\r') {
      throw new CorruptedFrameException("a chunk-size line does not end in CRLF");
    }
    long size = 0;
    int i = start;
    for (; i < end; i++) {
      int digit = Character.digit(in.getByte(i), 16);
      if (digit < 0) {
        break;
      }
      if (size > (Long.MAX_VALUE >> 4)) {
        throw new CorruptedFrameException("a chunk size is too large");
      }
      size = size * 16 + digit;
    }
    if (i == start) {
      throw new CorruptedFrameException("a chunk size is not hexadecimal");
    }
    if (i < end) {
      // chunk-ext: BWS ";" ..., passed over (the client's side drops extensions).
      while (i < end && (in.getByte(i) == ' ' || in.getByte(i) == '\t')) {
        i++;
      }
      if (i == end || in.getByte(i) != ';') {
        throw new CorruptedFrameException("a chunk size is not hexadecimal");
      }
      for (; i < end; i++) {
        if (!ResponseHeadScanner.isFieldChar(in.getByte(i))) {
          throw new CorruptedFrameException("a chunk extension has a control character");
        }
      }
    }
    in.readerIndex(lf + 1);
    if (size == 0) {
      state = State.TRAILERS;
      trailers = null;
      trailerBytes = 0;
    } else {
      remaining = size;
      state = State.CHUNK_DATA;
    }
    return true;
  }

  /** Reads one trailer line, or the empty line that ends the body; false when incomplete. */
  private boolean trailerLine(ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int lf = in.indexOf(start, in.writerIndex(), (byte) '\n');
    if (lf < 0) {
      if (trailerBytes + in.readableBytes() > maxTrailerSize) {
        throw new TooLongFrameException("the trailer fields are longer than " + maxTrailerSize);
      }
      return false;
    }
    int end = lf - 1;
    if (end < start || in.getByte(end) != '\r') {
      throw new CorruptedFrameException("a trailer line does not end in CRLF");
    }
    trailerBytes += lf + 1 - start;
    if (trailerBytes > maxTrailerSize) {
      throw new TooLongFrameException("the trailer fields are longer than " + maxTrailerSize);
    }
    if (end == start) {
      in.readerIndex(lf + 1);
      if (trailers == null) {
        out.add(LastHttpContent.EMPTY_LAST_CONTENT);
      } else {
        out.add(new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, trailers));
        trailers = null;
      }
      state = State.HEAD;
      return true;
    }
    int colon = -1;
    for (int i = start; i < end; i++) {
      byte b = in.getByte(i);
      if (b == ':') {
        colon = i;
        break;
      }
      if (!ResponseHeadScanner.isTchar(b)) {
        throw new CorruptedFrameException("a trailer field name is not a token");
      }
    }
    if (colon <= start) {
      throw new CorruptedFrameException("a trailer line has no name or no colon");
    }
    int vs = colon + 1;
    int ve = end;
    while (vs < ve && (in.getByte(vs) == ' ' || in.getByte(vs) == '\t')) {
      vs++;
    }
    while (ve > vs && (in.getByte(ve - 1) == ' ' || in.getByte(ve - 1) == '\t')) {
      ve--;
    }
    for (int i = vs; i < ve; i++) {
      if (!ResponseHeadScanner.isFieldChar(in.getByte(i))) {
        throw new CorruptedFrameException("a trailer value has a control character");
      }
    }
    String name = in.toString(start, colon - start, StandardCharsets.US_ASCII);
    // Framing fields in trailers are meaningless and dangerous to pass on; Netty drops them too.
    if (!name.equalsIgnoreCase("content-length") && !name.equalsIgnoreCase("transfer-encoding")
        && !name.equalsIgnoreCase("trailer")) {
      if (trailers == null) {
        trailers = new DefaultHttpHeaders();
      }
      trailers.add(name, in.toString(vs, ve - vs, StandardCharsets.ISO_8859_1));
    }
    in.readerIndex(lf + 1);
    return true;
  }

  private void fail(ByteBuf in, List<Object> out, Exception cause) {
    state = State.BAD;
    scanner.reset();
    in.skipBytes(in.readableBytes());
    DefaultLastHttpContent failed = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
    failed.setDecoderResult(DecoderResult.failure(cause));
    out.add(failed);
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    if (in.isReadable()) {
      decode(ctx, in, out);
    }
    switch (state) {
      case UNTIL_CLOSE -> {
        out.add(LastHttpContent.EMPTY_LAST_CONTENT); // the close ends the body
        state = State.HEAD;
      }
      case HEAD -> {
        if (scanner.started() || in.isReadable()) {
          fail(in, out, new PrematureChannelClosureException(
              "the worker closed the connection inside a response head"));
        }
      }
      case FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS -> fail(in, out,
          new PrematureChannelClosureException(
              "the worker closed the connection inside a response body"));
      default -> {
        // UPGRADED, BAD: nothing owed
      }
    }
  }
}
