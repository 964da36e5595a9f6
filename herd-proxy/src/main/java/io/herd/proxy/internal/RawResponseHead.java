package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCounted;
import java.nio.charset.StandardCharsets;

/**
 * A worker's response head as the worker sent it: its bytes, where each field line starts and
 * ends, the framing {@link ResponseHeadScanner} read from them, and the gateway's edits for the
 * client (fields dropped, a few fields added). It keeps Netty's {@link HttpResponse} contract so
 * that every handler keeps working, but the common path never builds a header map: {@link
 * ClientResponseEncoder} copies the kept field lines to the client as they came and appends the
 * added ones. Building the map and re-encoding every header were most of the gateway's CPU per
 * request.
 *
 * <p>{@link #headers()} (and {@link #setStatus}) <em>materialize</em> the head: the fields, with
 * the edits applied, become a {@link DefaultHttpHeaders}, the raw bytes are released, and from
 * then on the head is an ordinary message that Netty's encoder writes. Only slow paths do that
 * (DevTools answers held for rewriting, a protocol switch, 204 and 205 answers); readers that only
 * look use {@link #header(HttpResponse, CharSequence)}, which does not.
 *
 * <p>Reference-counted because it holds a slice of the worker connection's inbound buffer: whoever
 * drops it releases it ({@link io.netty.util.ReferenceCountUtil#release}); the encoder releases
 * what it writes. After materialization the count is kept but no bytes are held any more.
 *
 * <p>Not thread-safe: made by a worker connection's decoder and consumed on the same event loop.
 */
public final class RawResponseHead implements HttpResponse, ReferenceCounted {

  /** What the gateway puts in the Connection field it adds itself. */
  enum ConnectionField {
    NONE,
    CLOSE,
    KEEP_ALIVE
  }

  private static final AsciiString COLD_START = AsciiString.cached("X-Herd-Cold-Start");
  private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HTTP_1_0 = "HTTP/1.0 ".getBytes(StandardCharsets.US_ASCII);

  /** The head's bytes, status line to the final CRLF; null once materialized or released. */
  private ByteBuf bytes;
  private HttpVersion version;
  private final int code;
  /** Offsets in {@link #bytes}: the status code's first digit, the end of the reason phrase. */
  private final int statusStart;
  private final int statusEnd;
  /**
   * Four offsets per field line: name start, name end (the colon), value start, value end
   * (without surrounding whitespace). A dropped field's name start is stored complemented
   * ({@code ~start}, negative). Field {@code i}'s line runs to the next one's start; the last
   * one's to {@link #fieldsEnd}.
   */
  private final int[] fields;
  private final int fieldCount;
  private final int fieldsEnd;

  // Framing, as read by the scanner.
  private final long contentLength;
  private final boolean chunked;
  private final boolean connectionClose;
  private final boolean connectionKeepAlive;
  private final boolean connectionTokens;

  // The gateway's edits for the client.
  private long coldStartMillis = -1;
  private String setCookie;
  private ConnectionField connection = ConnectionField.NONE;
  private boolean addChunked;
  private boolean clientChunked;

  private HttpHeaders headers;
  private HttpResponseStatus status;
  private DecoderResult decoderResult = DecoderResult.SUCCESS;
  private int refCnt = 1;

  RawResponseHead(ByteBuf bytes, HttpVersion version, int code, int statusStart, int statusEnd,
      int[] fields, int fieldCount, int fieldsEnd, long contentLength, boolean chunked,
      boolean connectionClose, boolean connectionKeepAlive, boolean connectionTokens) {
    this.bytes = bytes;
    this.version = version;
    this.code = code;
    this.statusStart = statusStart;
    this.statusEnd = statusEnd;
    this.fields = fields;
    this.fieldCount = fieldCount;
    this.fieldsEnd = fieldsEnd;
    this.contentLength = contentLength;
    this.chunked = chunked;
    this.connectionClose = connectionClose;
    this.connectionKeepAlive = connectionKeepAlive;
    this.connectionTokens = connectionTokens;
    this.clientChunked = chunked;
  }

  // ---- what the scanner read ----

  /** The status code, without building a status object. */
  public int code() {
    return code;
  }

  /** The Content-Length the worker sent, or -1 for none. */
  public long contentLength() {
    return contentLength;
  }

  /** Whether the worker's body is chunked. */
  public boolean chunked() {
    return chunked;
  }

  /** Whether the worker keeps the connection open after this response (RFC 9112 §9.3). */
  public boolean keepAlive() {
    return !connectionClose && (version == HttpVersion.HTTP_1_1 || connectionKeepAlive);
  }

  /** Whether the head still goes out as raw bytes, i.e. was not materialized. */
  boolean raw() {
    return headers == null;
  }

  /**
   * Whether {@link ClientResponseEncoder} writes this head from its raw bytes: it was not
   * materialized, and it is a final answer whose framing the client gets as the worker sent it
   * (204 and 205 get Netty's header clean-up instead).
   */
  boolean passThrough() {
    return headers == null && bytes != null && code >= 200 && code != 204 && code != 205;
  }

  /** Whether the body goes to the client chunked. */
  boolean clientChunked() {
    return clientChunked;
  }

  // ---- the gateway's edits ----

  /**
   * Drops the hop-by-hop fields (RFC 9110 §7.6.1): Connection and every field it names but the
   * framing fields and Host, Keep-Alive, Proxy-*, TE, Trailer and Upgrade.
   */
  void dropHopByHop() {
    if (connectionTokens) {
      dropNamedByConnection();
    }
    for (int i = 0; i < fieldCount; i++) {
      int start = fields[4 * i];
      if (start < 0) {
        continue;
      }
      int len = fields[4 * i + 1] - start;
      byte first = toLower(bytes.getByte(start));
      // The first letter first: most fields are none of these, and are passed after one read.
      if ((first == 'c' && nameIs(start, len, HttpHeaderNames.CONNECTION))
          || (first == 'k' && nameIs(start, len, HttpHeaderNames.KEEP_ALIVE))
          || (first == 't' && (nameIs(start, len, HttpHeaderNames.TE)
              || nameIs(start, len, HttpHeaderNames.TRAILER)))
          || (first == 'u' && nameIs(start, len, HttpHeaderNames.UPGRADE))
          || (first == 'p' && len >= 6 && regionIs(start, "proxy-"))) {
        fields[4 * i] = ~start;
      }
    }
  }

  private void dropNamedByConnection() {
    for (int i = 0; i < fieldCount; i++) {
      int start = fields[4 * i];
      if (start < 0 || !nameIs(start, fields[4 * i + 1] - start, HttpHeaderNames.CONNECTION)) {
        continue;
      }
      int p = fields[4 * i + 2];
      int end = fields[4 * i + 3];
      while (p < end) {
        int comma = p;
        while (comma < end && bytes.getByte(comma) != ',') {
          comma++;
        }
        int s = p;
        int e = comma;
        while (s < e && isOws(bytes.getByte(s))) {
          s++;
        }
        while (e > s && isOws(bytes.getByte(e - 1))) {
          e--;
        }
        if (e > s && !regionIsName(s, e, HttpHeaderNames.TRANSFER_ENCODING)
            && !regionIsName(s, e, HttpHeaderNames.CONTENT_LENGTH)
            && !regionIsName(s, e, HttpHeaderNames.HOST)) {
          dropNamedRegion(s, e);
        }
        p = comma + 1;
      }
    }
  }

  /** Drops every field whose name equals the bytes {@code [s, e)}, ignoring case. */
  private void dropNamedRegion(int s, int e) {
    for (int j = 0; j < fieldCount; j++) {
      int start = fields[4 * j];
      if (start >= 0 && fields[4 * j + 1] - start == e - s && equalsIgnoreCase(start, s, e - s)) {
        fields[4 * j] = ~start;
      }
    }
  }

  /** Drops every field named {@code name} (the worker's, not the gateway's additions). */
  void drop(AsciiString name) {
    for (int i = 0; i < fieldCount; i++) {
      int start = fields[4 * i];
      if (start >= 0 && nameIs(start, fields[4 * i + 1] - start, name)) {
        fields[4 * i] = ~start;
      }
    }
  }

  /**
   * The body goes to the client chunked ({@code true}) or as plain bytes; {@code addField} adds
   * {@code Transfer-Encoding: chunked} (for a body the worker delimits by closing).
   */
  void clientChunked(boolean chunked, boolean addField) {
    this.clientChunked = chunked;
    this.addChunked = addField;
  }

  /** Sets {@code X-Herd-Cold-Start}, replacing the worker's field of that name. */
  void coldStart(long millis) {
    drop(COLD_START);
    this.coldStartMillis = millis;
  }

  /** Adds a {@code Set-Cookie} field with the encoded cookie {@code value}. */
  void addSetCookie(String value) {
    this.setCookie = value;
  }

  /** Sets the Connection field the client gets (the worker's own was dropped as hop-by-hop). */
  void connection(ConnectionField value) {
    this.connection = value;
  }

  // ---- encoding ----

  /**
   * The head as the client gets it: the status line with this head's version, the kept field
   * lines byte for byte, then the gateway's fields. Only while {@link #passThrough()}.
   */
  ByteBuf encode(ByteBufAllocator alloc) {
    String cold = coldStartMillis >= 0 ? Long.toString(coldStartMillis) : null;
    int size = bytes.readableBytes() + 64 + (setCookie != null ? setCookie.length() + 16 : 0);
    ByteBuf out = alloc.buffer(size);
    out.writeBytes(version == HttpVersion.HTTP_1_0 ? HTTP_1_0 : HTTP_1_1);
    out.writeBytes(bytes, statusStart, statusEnd - statusStart);
    out.writeShort(ClientResponseEncoder.CRLF_SHORT);
    int run = -1; // start of a run of kept lines, copied in one go
    for (int i = 0; i < fieldCount; i++) {
      int start = fields[4 * i];
      if (start >= 0) {
        if (run < 0) {
          run = start;
        }
      } else if (run >= 0) {
        out.writeBytes(bytes, run, (~start) - run);
        run = -1;
      }
    }
    if (run >= 0) {
      out.writeBytes(bytes, run, fieldsEnd - run);
    }
    if (cold != null) {
      writeField(out, COLD_START, cold);
    }
    if (setCookie != null) {
      writeField(out, HttpHeaderNames.SET_COOKIE, setCookie);
    }
    if (addChunked) {
      writeField(out, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    if (connection != ConnectionField.NONE) {
      writeField(out, HttpHeaderNames.CONNECTION, connection == ConnectionField.CLOSE
          ? HttpHeaderValues.CLOSE : HttpHeaderValues.KEEP_ALIVE);
    }
    out.writeShort(ClientResponseEncoder.CRLF_SHORT);
    return out;
  }

  private static void writeField(ByteBuf out, CharSequence name, CharSequence value) {
    out.writeCharSequence(name, StandardCharsets.US_ASCII);
    out.writeByte(':');
    out.writeByte(' ');
    out.writeCharSequence(value, StandardCharsets.ISO_8859_1);
    out.writeShort(ClientResponseEncoder.CRLF_SHORT);
  }

  // ---- reading without materializing ----

  /**
   * The first value of field {@code name} in {@code resp}, as the client gets it; null when
   * absent. For a raw head it reads the kept field lines and the gateway's additions without
   * materializing.
   */
  static String header(HttpResponse resp, CharSequence name) {
    if (resp instanceof RawResponseHead raw && raw.raw()) {
      return raw.rawHeader(name);
    }
    return resp.headers().get(name);
  }

  private String rawHeader(CharSequence name) {
    if (COLD_START.contentEqualsIgnoreCase(name) && coldStartMillis >= 0) {
      return Long.toString(coldStartMillis);
    }
    for (int i = 0; i < fieldCount; i++) {
      int start = fields[4 * i];
      if (start >= 0 && nameIs(start, fields[4 * i + 1] - start, name)) {
        return value(i);
      }
    }
    if (HttpHeaderNames.SET_COOKIE.contentEqualsIgnoreCase(name)) {
      return setCookie;
    }
    if (HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(name) && addChunked) {
      return HttpHeaderValues.CHUNKED.toString();
    }
    if (HttpHeaderNames.CONNECTION.contentEqualsIgnoreCase(name)
        && connection != ConnectionField.NONE) {
      return connection == ConnectionField.CLOSE ? "close" : "keep-alive";
    }
    return null;
  }

  private String name(int i) {
    int start = fields[4 * i];
    return bytes.toString(start, fields[4 * i + 1] - start, StandardCharsets.US_ASCII);
  }

  private String value(int i) {
    int start = fields[4 * i + 2];
    // Bytes above 0x7F (obs-text) map one to one to chars, as Netty's own decoder reads them.
    return bytes.toString(start, fields[4 * i + 3] - start, StandardCharsets.ISO_8859_1);
  }

  // ---- materialization ----

  private void materialize() {
    if (headers != null) {
      return;
    }
    ensureAccessible();
    status = status();
    DefaultHttpHeaders h = new DefaultHttpHeaders();
    for (int i = 0; i < fieldCount; i++) {
      if (fields[4 * i] >= 0) {
        h.add(name(i), value(i));
      }
    }
    if (coldStartMillis >= 0) {
      h.set(COLD_START, Long.toString(coldStartMillis));
    }
    if (setCookie != null) {
      h.add(HttpHeaderNames.SET_COOKIE, setCookie);
    }
    if (addChunked) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    if (connection != ConnectionField.NONE) {
      h.set(HttpHeaderNames.CONNECTION, connection == ConnectionField.CLOSE
          ? HttpHeaderValues.CLOSE : HttpHeaderValues.KEEP_ALIVE);
    }
    headers = h;
    bytes.release();
    bytes = null;
  }

  // ---- HttpResponse ----

  @Override
  public HttpHeaders headers() {
    materialize();
    return headers;
  }

  @Override
  public HttpResponseStatus status() {
    if (status == null) {
      status = statusFromBytes();
    }
    return status;
  }

  /** The standard status object when the reason phrase is the standard one, else a new one. */
  private HttpResponseStatus statusFromBytes() {
    ensureAccessible();
    HttpResponseStatus standard = HttpResponseStatus.valueOf(code);
    String reason = standard.reasonPhrase();
    int from = statusStart + 4; // "200 "
    int len = statusEnd - from;
    if (len == reason.length()) {
      boolean same = true;
      for (int i = 0; i < len && same; i++) {
        same = bytes.getByte(from + i) == reason.charAt(i);
      }
      if (same) {
        return standard;
      }
    }
    String actual = len > 0 ? bytes.toString(from, len, StandardCharsets.ISO_8859_1) : "";
    return new HttpResponseStatus(code, actual);
  }

  @Override
  @Deprecated
  public HttpResponseStatus getStatus() {
    return status();
  }

  @Override
  public HttpResponse setStatus(HttpResponseStatus status) {
    materialize();
    this.status = status;
    return this;
  }

  @Override
  public HttpVersion protocolVersion() {
    return version;
  }

  @Override
  @Deprecated
  public HttpVersion getProtocolVersion() {
    return version;
  }

  @Override
  public HttpResponse setProtocolVersion(HttpVersion version) {
    if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
      materialize(); // only the two versions are written from raw bytes
    }
    this.version = version;
    return this;
  }

  @Override
  public DecoderResult decoderResult() {
    return decoderResult;
  }

  @Override
  @Deprecated
  public DecoderResult getDecoderResult() {
    return decoderResult;
  }

  @Override
  public void setDecoderResult(DecoderResult result) {
    this.decoderResult = result;
  }

  // ---- ReferenceCounted ----

  @Override
  public int refCnt() {
    return refCnt;
  }

  @Override
  public RawResponseHead retain() {
    return retain(1);
  }

  @Override
  public RawResponseHead retain(int increment) {
    if (refCnt <= 0) {
      throw new IllegalReferenceCountException(refCnt, increment);
    }
    refCnt += increment;
    return this;
  }

  @Override
  public RawResponseHead touch() {
    return this;
  }

  @Override
  public RawResponseHead touch(Object hint) {
    if (bytes != null) {
      bytes.touch(hint);
    }
    return this;
  }

  @Override
  public boolean release() {
    return release(1);
  }

  @Override
  public boolean release(int decrement) {
    if (refCnt < decrement) {
      throw new IllegalReferenceCountException(refCnt, -decrement);
    }
    refCnt -= decrement;
    if (refCnt == 0) {
      if (bytes != null) {
        bytes.release();
        bytes = null;
      }
      return true;
    }
    return false;
  }

  private void ensureAccessible() {
    if (bytes == null && headers == null) {
      throw new IllegalReferenceCountException(0);
    }
  }

  // ---- ASCII helpers ----

  private boolean nameIs(int start, int len, CharSequence name) {
    return len == name.length() && regionIs(start, name);
  }

  private boolean regionIsName(int s, int e, CharSequence name) {
    return e - s == name.length() && regionIs(s, name);
  }

  /** Whether the bytes at {@code start} begin with {@code prefix}, ignoring ASCII case. */
  private boolean regionIs(int start, CharSequence prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (toLower(bytes.getByte(start + i)) != toLower((byte) prefix.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private boolean equalsIgnoreCase(int a, int b, int len) {
    for (int i = 0; i < len; i++) {
      if (toLower(bytes.getByte(a + i)) != toLower(bytes.getByte(b + i))) {
        return false;
      }
    }
    return true;
  }

  static byte toLower(byte b) {
    return b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
  }

  private static boolean isOws(byte b) {
    return b == ' ' || b == '\t';
  }

  @Override
  public String toString() {
    return "RawResponseHead(" + version + " " + code + ", " + fieldCount + " fields"
        + (raw() ? "" : ", materialized") + ")";
  }
}
