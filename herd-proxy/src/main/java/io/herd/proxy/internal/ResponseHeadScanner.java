package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ByteProcessor;
import java.util.Arrays;

/**
 * Reads a worker's response head in one pass over its bytes, strictly, and records what the
 * gateway needs: the status, where each field line is, and the framing (Content-Length,
 * Transfer-Encoding, the Connection options). Nothing is copied or decoded to strings; the result
 * is a {@link RawResponseHead} over a slice of the input.
 *
 * <p>Strict because a worker is not trusted to frame its responses well, and a proxy that reads a
 * boundary differently from the client next to it lets one response pose as the next. Refused
 * (the exchange gets a 502): a status line other than {@code HTTP/1.1} or {@code HTTP/1.0}, SP,
 * three digits from 100, and an optional SP and reason phrase; lines not ending in CRLF; obs-fold;
 * a field name that is not a token or is followed by whitespace; control characters other than
 * HTAB in a value; more than one Content-Length field, or one that is not all digits;
 * Transfer-Encoding other than exactly {@code chunked}, more than one such field, or any in an
 * HTTP/1.0 response; Content-Length together with Transfer-Encoding; a status line longer than
 * the line limit or fields longer than the header limit. Bytes above 0x7F (obs-text) are allowed
 * in the reason phrase and values, which real applications send (file names in
 * Content-Disposition).
 *
 * <p>Incremental: a head split over several reads is scanned once, resuming at the first line not
 * yet complete. Offsets are kept relative to the input's reader index, which does not move until
 * the head is complete. Not thread-safe: one per worker connection, on its event loop.
 */
final class ResponseHeadScanner {

  private final int maxInitialLine;
  private final int maxHeaderSize;

  // Progress through the current head, relative to the reader index.
  private int pos;
  private boolean statusDone;
  private HttpVersion version;
  private int code;
  private int statusEnd;
  private int[] fields = new int[64];
  private int fieldCount;
  private int fieldsStart;
  private long contentLength;
  private int contentLengths;
  private int transferEncodings;
  private boolean connectionClose;
  private boolean connectionKeepAlive;
  private boolean connectionTokens;

  ResponseHeadScanner(int maxInitialLine, int maxHeaderSize) {
    this.maxInitialLine = maxInitialLine;
    this.maxHeaderSize = maxHeaderSize;
    reset();
  }

  /** Forgets a partly scanned head. */
  void reset() {
    pos = 0;
    statusDone = false;
    version = null;
    code = 0;
    statusEnd = 0;
    fieldCount = 0;
    fieldsStart = 0;
    contentLength = -1;
    contentLengths = 0;
    transferEncodings = 0;
    connectionClose = false;
    connectionKeepAlive = false;
    connectionTokens = false;
  }

  /** Whether part of a head was scanned and more is awaited. */
  boolean started() {
    return pos > 0;
  }

  /**
   * Scans the head at {@code in}'s reader index.
   *
   * @return the head, whose bytes were read from {@code in} (a retained slice), or null when the
   *     head is not complete yet
   * @throws CorruptedFrameException when the head breaks the rules above
   * @throws TooLongFrameException when the status line or the fields exceed their limits
   */
  RawResponseHead scan(ByteBuf in) {
    int base = in.readerIndex();
    int readable = in.readableBytes();
    while (true) {
      int lf = in.indexOf(base + pos, base + readable, (byte) '\n');
      if (lf < 0) {
        checkLength(readable - pos);
        return null;
      }
      int lineStart = pos;
      int lineEnd = lf - base - 1; // at the CR
      checkLength(lineEnd - lineStart);
      if (lineEnd < lineStart || in.getByte(base + lineEnd) != '\r') {
        throw new CorruptedFrameException("a line of the response head does not end in CRLF");
      }
      pos = lineEnd + 2;
      if (!statusDone) {
        statusLine(in, base, lineStart, lineEnd);
        statusDone = true;
        fieldsStart = pos;
      } else if (lineEnd == lineStart) {
        return complete(in, lineStart);
      } else {
        field(in, base, lineStart, lineEnd);
      }
    }
  }

  private void checkLength(int lineSoFar) {
    if (!statusDone) {
      if (lineSoFar > maxInitialLine) {
        throw new TooLongFrameException(
            "the response's status line is longer than " + maxInitialLine + " bytes");
      }
    } else if (pos - fieldsStart + lineSoFar > maxHeaderSize) {
      throw new TooLongFrameException(
          "the response's header fields are longer than " + maxHeaderSize + " bytes");
    }
  }

  private void statusLine(ByteBuf in, int base, int start, int end) {
    int len = end - start;
    if (len < 12 || !startsWith(in, base + start, "HTTP/1.") || in.getByte(base + start + 8) != ' ') {
      throw bad("the status line is not HTTP/1.x SP 3DIGIT SP reason");
    }
    byte minor = in.getByte(base + start + 7);
    if (minor == '1') {
      version = HttpVersion.HTTP_1_1;
    } else if (minor == '0') {
      version = HttpVersion.HTTP_1_0;
    } else {
      throw bad("the response's version is not HTTP/1.1 or HTTP/1.0");
    }
    int c = 0;
    for (int i = 9; i < 12; i++) {
      byte d = in.getByte(base + start + i);
      if (d < '0' || d > '9') {
        throw bad("the status code is not three digits");
      }
      c = c * 10 + (d - '0');
    }
    if (c < 100) {
      throw bad("the status code is below 100");
    }
    code = c;
    if (len > 12) {
      if (in.getByte(base + start + 12) != ' ') {
        throw bad("the status code is not followed by SP");
      }
      if (len > 13 && in.forEachByte(base + start + 13, len - 13, FIELD_CHARS) >= 0) {
        throw bad("the reason phrase has a control character");
      }
    }
    statusEnd = end;
  }

  private void field(ByteBuf in, int base, int start, int end) {
    // One pass per part through ByteProcessors: cheaper than a bounds-checked read per byte.
    int stop = in.forEachByte(base + start, end - start, NAME_CHARS);
    int colon = stop < 0 ? -1 : stop - base;
    if (colon < 0 || in.getByte(stop) != ':') {
      byte b = colon < 0 ? 0 : in.getByte(stop);
      throw bad(colon == start && (b == ' ' || b == '\t')
          ? "the response head has an obs-fold line" : "a field name is not a token");
    }
    if (colon == start) {
      throw bad("a field line has no name");
    }
    int vs = colon + 1;
    int ve = end;
    while (vs < ve && isOws(in.getByte(base + vs))) {
      vs++;
    }
    while (ve > vs && isOws(in.getByte(base + ve - 1))) {
      ve--;
    }
    if (ve > vs && in.forEachByte(base + vs, ve - vs, FIELD_CHARS) >= 0) {
      throw bad("a field value has a control character");
    }
    int n = fieldCount * 4;
    if (n + 4 > fields.length) {
      fields = Arrays.copyOf(fields, fields.length * 2);
    }
    fields[n] = start;
    fields[n + 1] = colon;
    fields[n + 2] = vs;
    fields[n + 3] = ve;
    fieldCount++;
    framing(in, base, start, colon, vs, ve);
  }

  /** Reads the fields that frame the response; all others pass unread. */
  private void framing(ByteBuf in, int base, int start, int colon, int vs, int ve) {
    int len = colon - start;
    byte first = RawResponseHead.toLower(in.getByte(base + start));
    if (len == 14 && first == 'c' && nameIs(in, base + start, "content-length")) {
      if (++contentLengths > 1) {
        throw bad("the response has more than one Content-Length");
      }
      if (ve == vs || ve - vs > 18) {
        throw bad("the response's Content-Length is not a number");
      }
      long v = 0;
      for (int i = vs; i < ve; i++) {
        byte d = in.getByte(base + i);
        if (d < '0' || d > '9') {
          throw bad("the response's Content-Length is not a number");
        }
        v = v * 10 + (d - '0');
      }
      contentLength = v;
    } else if (len == 17 && first == 't' && nameIs(in, base + start, "transfer-encoding")) {
      if (++transferEncodings > 1) {
        throw bad("the response has more than one Transfer-Encoding");
      }
      if (ve - vs != 7 || !nameIs(in, base + vs, "chunked")) {
        throw bad("the response's Transfer-Encoding is not chunked");
      }
    } else if (len == 10 && first == 'c' && nameIs(in, base + start, "connection")) {
      connectionOptions(in, base, vs, ve);
    }
  }

  private void connectionOptions(ByteBuf in, int base, int vs, int ve) {
    int p = vs;
    while (p <= ve) {
      int comma = p;
      while (comma < ve && in.getByte(base + comma) != ',') {
        comma++;
      }
      int s = p;
      int e = comma;
      while (s < e && isOws(in.getByte(base + s))) {
        s++;
      }
      while (e > s && isOws(in.getByte(base + e - 1))) {
        e--;
      }
      if (e - s == 5 && nameIs(in, base + s, "close")) {
        connectionClose = true;
      } else if (e - s == 10 && nameIs(in, base + s, "keep-alive")) {
        connectionKeepAlive = true;
      } else if (e > s) {
        connectionTokens = true; // names a field to drop (or is "upgrade", which goes anyway)
      }
      p = comma + 1;
    }
  }

  private RawResponseHead complete(ByteBuf in, int emptyLine) {
    if (transferEncodings > 0 && contentLengths > 0) {
      throw bad("the response has both Content-Length and Transfer-Encoding");
    }
    if (transferEncodings > 0 && version == HttpVersion.HTTP_1_0) {
      throw bad("an HTTP/1.0 response has Transfer-Encoding");
    }
    int length = pos; // through the empty line's CRLF
    ByteBuf bytes = in.readRetainedSlice(length);
    RawResponseHead head = new RawResponseHead(bytes, version, code, 9, statusEnd,
        Arrays.copyOf(fields, fieldCount * 4), fieldCount, emptyLine, contentLength,
        transferEncodings > 0, connectionClose, connectionKeepAlive, connectionTokens);
    reset();
    return head;
  }

  private static CorruptedFrameException bad(String problem) {
    return new CorruptedFrameException(problem);
  }

  /** Whether the bytes at {@code at} equal the lower-case ASCII {@code lower}, ignoring case. */
  private static boolean nameIs(ByteBuf in, int at, String lower) {
    for (int i = 0; i < lower.length(); i++) {
      if (RawResponseHead.toLower(in.getByte(at + i)) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(ByteBuf in, int at, String ascii) {
    for (int i = 0; i < ascii.length(); i++) {
      if (in.getByte(at + i) != ascii.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static final ByteProcessor NAME_CHARS = ResponseHeadScanner::isTchar;
  static final ByteProcessor FIELD_CHARS = ResponseHeadScanner::isFieldChar;

  /** RFC 9110 §5.6.2 tchar. */
  static boolean isTchar(byte b) {
    return HttpTokens.isTchar(b);
  }

  /** HTAB, SP, VCHAR or obs-text: what a field value or reason phrase may hold. */
  static boolean isFieldChar(byte b) {
    return b == '\t' || (b >= ' ' && b != 0x7F) || b < 0;
  }

  private static boolean isOws(byte b) {
    return b == ' ' || b == '\t';
  }
}
