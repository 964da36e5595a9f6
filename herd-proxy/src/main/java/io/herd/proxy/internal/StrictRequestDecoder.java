package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ByteProcessor;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Netty's request decoder made strict enough for a gateway that forwards to other HTTP parsers.
 *
 * <p>Netty 4.2 already rejects bare LF (strict line parsing), Content-Length together with
 * Transfer-Encoding, differing duplicate Content-Length, a final coding other than chunked and bad
 * chunk sizes. It still accepts obs-fold (it joins the lines), control characters and non-ASCII
 * bytes (obs-text) in header values, extra whitespace in the request line and any version that looks like one ({@code
 * http/1.1}, {@code HTTP/2.0}), which a backend may read differently; and for HTTP/1.0 it skips its
 * duplicate Content-Length check and frames the body by the first field, so that a proxy in front
 * that takes the last one would see another request boundary. So this decoder scans each
 * request head's raw bytes before Netty parses them and turns the first offending byte into a
 * request whose {@link DecoderResult} failed; everything after it is discarded, as Netty does for
 * its own failures. The request line must be exactly {@code METHOD SP target SP version} with
 * version {@code HTTP/1.1} or {@code HTTP/1.0}: another well-formed {@code HTTP/d.d} is refused
 * with 505, anything else with 400. A head may carry at most one Content-Length field, whatever
 * its version (Netty refuses a second one itself only for HTTP/1.1).
 *
 * <p>In a chunked body, a chunk-size line longer than the request-line limit fails Netty's line
 * parser with the exception it uses for a too long request line; that failure is turned into a
 * malformed request (400, a bad chunk size), not 414, which would blame the request target.
 *
 * <p>It also fires {@link #HEAD_STARTED} when the first byte of a request arrives, which starts
 * the request-header (slowloris) timer.
 *
 * <p>Not thread-safe: one instance per connection, used on its event loop.
 */
public final class StrictRequestDecoder extends HttpRequestDecoder {

  /** User event fired when the first byte of a new request head arrives. */
  public static final Object HEAD_STARTED = new Object() {
    @Override
    public String toString() {
      return "HEAD_STARTED";
    }
  };

  private static final long HTTP_1_1 = ascii8("HTTP/1.1");
  private static final long HTTP_1_0 = ascii8("HTTP/1.0");
  /** {@code HTTP/d.d} with the digits masked out. */
  private static final long VERSION_MASK = 0xffff_ffff_ff00_ff00L;
  private static final long VERSION_SHAPE = ascii8("HTTP/0.0") & VERSION_MASK;
  private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);

  private final int scanLimit;
  private final int maxLine;
  private final boolean announceHeads;

  // Head scanner state, reset after each message. scannedAhead counts the bytes after the
  // buffer's reader index that were already checked, so no byte is checked twice.
  private boolean inHead = true;
  private int scannedAhead;
  private int headBytes;
  private int headChars; // of headBytes, those that are neither CR nor LF (as Netty counts)
  private int lineLength;
  private boolean sawCr;
  private boolean sawLine;
  private boolean rejected;
  private String problem;
  private Refusal refusal;
  // The request line: its spaces and its last nine bytes (" HTTP/1.1"), for the version check.
  private int lineSpaces;
  private long lineTail;
  private int lineNinth;
  // Field names: how much of "content-length" the current line's name matched (-1: not it), and
  // how many Content-Length fields the head had.
  private int nameMatched;
  private int contentLengths;
  private final ByteProcessor scanner = this::process;

  public StrictRequestDecoder(HttpDecoderConfig config) {
    this(config, true);
  }

  /**
   * @param announceHeads whether to fire {@link #HEAD_STARTED}; false inside {@link
   *     ClientRequestDecoder}, which announces every head itself
   */
  StrictRequestDecoder(HttpDecoderConfig config, boolean announceHeads) {
    super(config.setStrictLineParsing(true).setUseRfc9112TransferEncoding(true));
    this.announceHeads = announceHeads;
    // Netty answers too long lines and headers itself (414/431); scanning further is pointless.
    // The limit is in the bytes Netty counts, which are neither CR nor LF: a head of short lines
    // is up to three times longer on the wire (a:CRLF), and must be checked to its end.
    this.maxLine = config.getMaxInitialLineLength();
    this.scanLimit = config.getMaxInitialLineLength() + config.getMaxHeaderSize() + 4;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (rejected) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (inHead) {
      String problem = scan(ctx, in);
      if (problem != null) {
        rejected = true;
        in.skipBytes(in.readableBytes());
        DefaultHttpRequest invalid = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        invalid.setDecoderResult(
            DecoderResult.failure(new MalformedRequestException(problem, refusal)));
        out.add(invalid);
        return;
      }
    }
    int before = in.readerIndex();
    int produced = out.size();
    super.decode(ctx, in, out);
    if (inHead) {
      scannedAhead -= in.readerIndex() - before;
    }
    for (int i = produced; i < out.size(); i++) {
      Object msg = out.get(i);
      if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
        rejected = true;
        if (o instanceof HttpContent && !(o instanceof HttpMessage)
            && o.decoderResult().cause() instanceof TooLongHttpLineException) {
          // In a body (content that is no message: a refused head comes as a full request) Netty's
          // only line is a chunk-size line: a bad chunk size (400), not the request line that
          // TooLongHttpLineException means in a head (414).
          o.setDecoderResult(DecoderResult.failure(new MalformedRequestException(
              "chunk size line longer than " + maxLine + " bytes (expected: a hex chunk size)")));
        }
      } else if (msg instanceof LastHttpContent) {
        resetScanner();
      }
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    super.decodeLast(ctx, in, out); // overridden to be callable from ClientRequestDecoder
  }

  /**
   * Whether bytes of a request head that is not complete yet have arrived: the next request
   * started, so its header deadline applies rather than the keep-alive one.
   */
  public boolean midHead() {
    return inHead && headBytes > 0 && !rejected;
  }

  private void resetScanner() {
    lineSpaces = 0;
    lineTail = 0;
    lineNinth = 0;
    inHead = true;
    scannedAhead = 0;
    headBytes = 0;
    headChars = 0;
    lineLength = 0;
    sawCr = false;
    sawLine = false;
    nameMatched = 0;
    contentLengths = 0;
  }

  /** Checks the unchecked head bytes; returns what is wrong, or null. */
  private String scan(ChannelHandlerContext ctx, ByteBuf in) {
    int start = in.readerIndex() + scannedAhead;
    int length = in.writerIndex() - start;
    if (length <= 0 || headChars > scanLimit) {
      return null;
    }
    if (headBytes == 0 && announceHeads) {
      ctx.fireUserEventTriggered(HEAD_STARTED);
    }
    problem = null;
    refusal = Refusal.MALFORMED;
    int stop = in.forEachByte(start, length, scanner);
    int scanned = stop < 0 ? length : stop - start + (problem == null ? 1 : 0);
    scannedAhead += scanned;
    headBytes += scanned;
    return problem;
  }

  /**
   * The head scanner's byte loop, as a {@link ByteProcessor} so that Netty runs it without a
   * bounds check per byte. Stops at the end of the head or at the first offending byte.
   */
  private boolean process(byte b) {
    if (sawCr) {
      if (b != '\n') {
        problem = "CR not followed by LF in the request head";
        return false;
      }
      sawCr = false;
      if (lineLength == 0 && sawLine) {
        inHead = false; // end of the head: the body, if any, is not ours to check
        return false;
      }
      sawLine |= lineLength > 0;
      lineLength = 0;
      nameMatched = 0;
    } else if (b == '\r') {
      if (!sawLine && lineLength > 0 && !checkRequestLine()) {
        return false;
      }
      sawCr = true;
    } else if (b == '\n') {
      problem = "bare LF in the request head (expected: CRLF line endings)";
      return false;
    } else if (lineLength == 0 && sawLine && (b == ' ' || b == '\t')) {
      problem = "obs-fold (a header line starting with whitespace) is not accepted";
      return false;
    } else if (b < 0) {
      problem = "non-ASCII byte 0x" + Integer.toHexString(b & 0xff)
          + " in the request head (expected: ASCII; percent-encode other characters)";
      return false;
    } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
      problem = "control character 0x" + Integer.toHexString(b & 0xff) + " in the request head";
      return false;
    } else {
      if (++headChars > scanLimit) {
        return false; // Netty refuses this head as too long; no need to look further
      }
      lineLength++;
      if (!sawLine) {
        if (b == ' ') {
          lineSpaces++;
        } else if (b == '\t') {
          problem = "tab in the request line (expected: METHOD SP target SP version)";
          return false;
        }
        lineNinth = (int) (lineTail >>> 56);
        lineTail = lineTail << 8 | (b & 0xff);
      } else if (nameMatched >= 0 && !matchContentLength(b)) {
        return false;
      }
    }
    return true;
  }

  /** One more byte of a field name; false (and a problem) at a second Content-Length field. */
  private boolean matchContentLength(byte b) {
    if (nameMatched == CONTENT_LENGTH.length) {
      nameMatched = -1;
      if (b == ':' && ++contentLengths > 1) {
        problem = "more than one Content-Length field (expected: one)";
        return false;
      }
    } else if ((b | 0x20) == CONTENT_LENGTH[nameMatched]) {
      nameMatched++;
    } else {
      nameMatched = -1;
    }
    return true;
  }

  /** At the end of the request line: its shape and version; sets {@link #problem} if bad. */
  private boolean checkRequestLine() {
    if (lineSpaces != 2 || lineNinth != ' ') {
      problem = "the request line must be METHOD SP target SP HTTP/1.1 (or HTTP/1.0),"
          + " with single spaces";
      return false;
    }
    if (lineTail == HTTP_1_1 || lineTail == HTTP_1_0) {
      return true;
    }
    if ((lineTail & VERSION_MASK) == VERSION_SHAPE
        && isDigit(lineTail >>> 16 & 0xff) && isDigit(lineTail & 0xff)) {
      refusal = Refusal.VERSION_NOT_SUPPORTED;
      problem = "HTTP version not supported (expected: HTTP/1.1 or HTTP/1.0)";
      return false;
    }
    problem = "the request line must end with HTTP/1.1 or HTTP/1.0";
    return false;
  }

  private static long ascii8(String s) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | (s.charAt(i) & 0xff);
    }
    return v;
  }

  private static boolean isDigit(long c) {
    return c >= '0' && c <= '9';
  }

  /** A request that breaks the framing or header rules; answered as its {@link Refusal} says. */
  public static final class MalformedRequestException extends IllegalArgumentException {
    private final transient Refusal refusal;

    public MalformedRequestException(String message) {
      this(message, Refusal.MALFORMED);
    }

    public MalformedRequestException(String message, Refusal refusal) {
      super(message);
      this.refusal = refusal;
    }

    /** Which refusal (and so which status) this is. */
    public Refusal refusal() {
      return refusal;
    }
  }
}
