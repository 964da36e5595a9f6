package io.herd.proxy.internal;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads a complete request head in one pass over its bytes, recording where each field line's
 * name and value are, and makes a request of it whose headers are read in place ({@link
 * RawHeaders}). It is the gateway's fast path for ordinary requests, and it is deliberately
 * narrow: it accepts only heads that are plainly well-formed, and answers null for everything
 * else, which then goes to {@link StrictRequestDecoder}, whose defences and error answers
 * (400/414/431/505) stay the only ones. So no defence depends on this class refusing a head; it
 * must only never accept one that the strict decoder would refuse or read differently (a fuzz and
 * differential test holds it to that).
 *
 * <p>What it accepts: {@code token SP target SP HTTP/1.1} (or {@code HTTP/1.0}), the target
 * visible ASCII only, the line shorter than the initial-line limit; then up to {@value
 * RawHeaders#MAX_LINES} lines of {@code token ":" OWS value OWS}, the value visible ASCII, space
 * and tab only (so no obs-fold, obs-text, control characters, whitespace before the colon or an
 * empty name), all lines together under the header-size limit; every line ending in CRLF; at most
 * one Content-Length, plain digits; no Transfer-Encoding at all (a chunked body takes the strict
 * decoder's way, with Netty's chunk parser).
 *
 * <p>Not thread-safe: one per connection (it reuses a scratch array), on its event loop.
 */
final class RequestHeadScanner {

  private static final byte[] HTTP_1_ = "HTTP/1.".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TRANSFER_ENCODING =
      "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
  /** More digits could overflow a long; no body that large is plausible. */
  private static final int MAX_LENGTH_DIGITS = 18;

  private final int maxInitialLine;
  private final int maxHeaderSize;
  private final int[] scratch = new int[RawHeaders.MAX_LINES * 5];
  private long contentLength;

  /**
   * @param maxInitialLine the strict decoder's request-line limit: a line this long or longer is
   *     left to it (it answers 414)
   * @param maxHeaderSize the strict decoder's header-section limit: field lines whose bytes,
   *     CRLFs included, reach it are left to it (it answers 431)
   */
  RequestHeadScanner(int maxInitialLine, int maxHeaderSize) {
    this.maxInitialLine = maxInitialLine;
    this.maxHeaderSize = maxHeaderSize;
  }

  static boolean isTchar(int c) {
    return HttpTokens.isTchar(c);
  }

  private static boolean isFieldChar(int c) {
    return (c >= 0x20 && c < 0x7f) || c == '\t';
  }

  /** The Content-Length of the head last accepted by {@link #scan}; 0 when it had none. */
  long contentLength() {
    return contentLength;
  }

  /**
   * Reads {@code head}, which ends with the CRLF CRLF that ends the head and is given up to the
   * request (its fields are read from it in place).
   *
   * @return the request, or null when the head is not one for the fast path
   */
  HttpRequest scan(byte[] head) {
    int length = head.length;
    int i = 0;
    while (i < length && isTchar(head[i])) {
      i++;
    }
    int methodEnd = i;
    if (methodEnd == 0 || head[i] != ' ') {
      return null;
    }
    int targetStart = ++i;
    while (head[i] > 0x20 && head[i] < 0x7f) {
      i++;
    }
    int targetEnd = i;
    if (targetEnd == targetStart || head[i] != ' ' || length - i < 11) {
      return null;
    }
    i++;
    HttpVersion version = version(head, i);
    i += 8;
    if (version == null || head[i] != '\r' || head[i + 1] != '\n' || i >= maxInitialLine) {
      return null;
    }
    i += 2;
    int lines = 0;
    int headerBytes = 0;
    int contentLengths = 0;
    long length0 = 0;
    int[] pos = scratch;
    while (head[i] != '\r') {
      if (lines == RawHeaders.MAX_LINES) {
        return null;
      }
      int nameStart = i;
      while (isTchar(head[i])) {
        i++;
      }
      int nameEnd = i;
      if (nameEnd == nameStart || head[i] != ':') {
        return null;
      }
      i++;
      while (head[i] == ' ' || head[i] == '\t') {
        i++;
      }
      int valueStart = i;
      while (isFieldChar(head[i])) {
        i++;
      }
      int lineEnd = i;
      if (head[i] != '\r' || head[i + 1] != '\n') {
        return null;
      }
      int valueEnd = lineEnd;
      while (valueEnd > valueStart && (head[valueEnd - 1] == ' ' || head[valueEnd - 1] == '\t')) {
        valueEnd--;
      }
      headerBytes += lineEnd - nameStart + 2;
      if (headerBytes >= maxHeaderSize) {
        return null;
      }
      if (nameIs(head, nameStart, nameEnd, TRANSFER_ENCODING)) {
        return null;
      }
      if (nameIs(head, nameStart, nameEnd, CONTENT_LENGTH)) {
        length0 = digits(head, valueStart, valueEnd);
        if (length0 < 0 || ++contentLengths > 1) {
          return null;
        }
      }
      int p = lines * 5;
      pos[p] = nameStart;
      pos[p + 1] = nameEnd;
      pos[p + 2] = valueStart;
      pos[p + 3] = valueEnd;
      pos[p + 4] = lineEnd;
      lines++;
      i = lineEnd + 2;
    }
    if (head[i + 1] != '\n' || i + 2 != length) {
      return null;
    }
    contentLength = length0;
    RawHeaders headers = new RawHeaders(head, Arrays.copyOf(pos, lines * 5), lines);
    return new DefaultHttpRequest(version, method(head, methodEnd),
        new String(head, targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1),
        headers);
  }

  private static HttpVersion version(byte[] head, int at) {
    for (int k = 0; k < HTTP_1_.length; k++) {
      if (head[at + k] != HTTP_1_[k]) {
        return null;
      }
    }
    byte minor = head[at + 7];
    return minor == '1' ? HttpVersion.HTTP_1_1 : minor == '0' ? HttpVersion.HTTP_1_0 : null;
  }

  private static boolean nameIs(byte[] head, int start, int end, byte[] lowerName) {
    if (end - start != lowerName.length) {
      return false;
    }
    for (int k = 0; k < lowerName.length; k++) {
      if ((head[start + k] | 0x20) != lowerName[k]) {
        return false;
      }
    }
    return true;
  }

  /** The decimal number in [start, end), or -1 if it is not 1 to 18 digits. */
  private static long digits(byte[] head, int start, int end) {
    if (end == start || end - start > MAX_LENGTH_DIGITS) {
      return -1;
    }
    long n = 0;
    for (int k = start; k < end; k++) {
      int d = head[k] - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      n = n * 10 + d;
    }
    return n;
  }

  /** The method, without a String for the common ones. */
  private static HttpMethod method(byte[] head, int end) {
    switch (end) {
      case 3:
        if (head[0] == 'G' && head[1] == 'E' && head[2] == 'T') {
          return HttpMethod.GET;
        }
        if (head[0] == 'P' && head[1] == 'U' && head[2] == 'T') {
          return HttpMethod.PUT;
        }
        break;
      case 4:
        if (head[0] == 'P' && head[1] == 'O' && head[2] == 'S' && head[3] == 'T') {
          return HttpMethod.POST;
        }
        if (head[0] == 'H' && head[1] == 'E' && head[2] == 'A' && head[3] == 'D') {
          return HttpMethod.HEAD;
        }
        break;
      default:
        break;
    }
    return HttpMethod.valueOf(new String(head, 0, end, StandardCharsets.US_ASCII));
  }
}
