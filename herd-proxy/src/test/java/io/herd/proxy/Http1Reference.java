package io.herd.proxy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small, strict HTTP/1.1 message parser written from RFC 9112's grammar, independent of Netty:
 * the fuzz test's reference for what a strict gateway accepts, and its strict reader of what the
 * gateway sends on (to the worker, back to the client). It reads a whole byte stream of pipelined
 * messages and stops at the first one that breaks the grammar, saying where and why.
 *
 * <p>Stricter than RFC 9112 requires in the ways the gateway documents for its front door: no
 * obs-fold, no obs-text (bytes above 0x7E) anywhere in a head, no control characters but HTAB in
 * field values, exactly {@code HTTP/1.1} or {@code HTTP/1.0}, only {@code chunked} (last, once) as
 * a transfer coding, one Content-Length field. Where the gateway is knowingly more lenient and
 * re-frames the message so that the next hop never sees the difference (chunk extensions are
 * dropped, not checked), the parser is too, and says so where it is.
 *
 * <p>Stateless; thread-safe.
 */
final class Http1Reference {

  /** Netty's limits as the gateway configures them: line bytes and header-section bytes, CRLF excluded. */
  static final int MAX_INITIAL_LINE = 8192;
  static final int MAX_HEADER_BYTES = 16384;

  private Http1Reference() {}

  /** A field line: the name as sent, the value without surrounding whitespace. */
  record Field(String name, String value) {
    String lname() {
      return name.toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
      return name + ": " + value;
    }
  }

  /** How far the stream got: every message before {@link #stop} was complete and valid. */
  enum Stop {
    /** The stream ended between messages. */
    END,
    /** A message head breaks the grammar or the framing rules. */
    BAD_HEAD,
    /** A chunked body breaks the grammar after its head was fine. */
    BAD_BODY,
    /** The stream ended inside a head. */
    PARTIAL_HEAD,
    /** The stream ended inside a body whose head was fine. */
    PARTIAL_BODY
  }

  /** A request or response as read; the body decoded. Mutable while parsing only. */
  static final class Message {
    String startLine;
    String method;
    String target;
    String version;
    int status;
    final List<Field> fields = new ArrayList<>();
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    final List<Field> trailers = new ArrayList<>();
    boolean chunked;
    /** Offsets in the stream: where the message starts (after leading empty lines) and ends. */
    int start;
    int end;

    List<String> all(String name) {
      List<String> values = new ArrayList<>();
      for (Field f : fields) {
        if (f.name.equalsIgnoreCase(name)) {
          values.add(f.value);
        }
      }
      return values;
    }

    String first(String name) {
      List<String> v = all(name);
      return v.isEmpty() ? null : v.get(0);
    }

    byte[] bodyBytes() {
      return body.toByteArray();
    }

    @Override
    public String toString() {
      return startLine + " " + fields + (chunked ? " chunked" : "") + " body=" + body.size()
          + (trailers.isEmpty() ? "" : " trailers=" + trailers);
    }
  }

  /**
   * A parsed stream: the complete messages, then how it stopped; for BAD_* and PARTIAL_BODY the
   * message that stopped it (its head, and the valid part of its body) is {@link #last}.
   */
  record Parsed(List<Message> messages, Stop stop, int status, String problem, Message last,
      int offset, int alternative) {}

  /** What a response parser needs to know about the request each response answers. */
  interface RequestInfo {
    boolean head();
  }

  // ---- requests ----

  /** Parses a stream of pipelined requests as the gateway's front door should, with its limits. */
  static Parsed parseRequests(byte[] in) {
    return new Reader(in, true, null, true).run();
  }

  /** Parses a stream of requests as a strict server without size limits would (the worker). */
  static Parsed parseForwardedRequests(byte[] in) {
    return new Reader(in, true, null, false).run();
  }

  /**
   * Parses a stream of responses; {@code heads.get(i)} says whether the i-th final response
   * answers a HEAD. Interim (1xx) responses are kept as messages too.
   */
  static Parsed parseResponses(byte[] in, List<Boolean> heads) {
    return new Reader(in, false, heads, false).run();
  }

  private static final String TCHARS = "!#$%&'*+-.^_`|~";

  static boolean isTchar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c < 128 && TCHARS.indexOf(c) >= 0);
  }

  static boolean isToken(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isTchar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static final class Failure extends Exception {
    final Stop stop;
    final int status;
    final int offset;
    int alternative;

    Failure(Stop stop, int status, String message) {
      this(stop, status, message, -1);
    }

    Failure(Stop stop, int status, String message, int offset) {
      super(message, null, false, false);
      this.stop = stop;
      this.status = status;
      this.offset = offset;
    }
  }

  private static final class Reader {
    private final byte[] in;
    private final boolean requests;
    private final List<Boolean> heads;
    private final boolean limits;
    private int pos;
    private final List<Message> done = new ArrayList<>();
    private Message current;

    Reader(byte[] in, boolean requests, List<Boolean> heads, boolean limits) {
      this.limits = limits;
      this.in = in;
      this.requests = requests;
      this.heads = heads;
    }

    Parsed run() {
      while (true) {
        int messageStart = pos;
        // RFC 9112 §2.2: empty lines before a request line are ignored (responses: none expected).
        while (requests && pos + 1 < in.length && in[pos] == '\r' && in[pos + 1] == '\n') {
          pos += 2;
        }
        if (pos >= in.length || (requests && pos + 1 == in.length && in[pos] == '\r')) {
          return new Parsed(done, pos >= in.length ? Stop.END : Stop.PARTIAL_HEAD, 0,
              pos >= in.length ? null : "a lone CR at the end", null, messageStart, 0);
        }
        current = new Message();
        current.start = pos;
        try {
          if (!readHead()) {
            return new Parsed(done, Stop.PARTIAL_HEAD, 0, "the stream ends inside a head", current,
                current.start, 0);
          }
          if (!readBody()) {
            return new Parsed(done, Stop.PARTIAL_BODY, 0, "the stream ends inside a body", current,
                current.start, 0);
          }
        } catch (Failure f) {
          return new Parsed(done, f.stop, f.status, f.getMessage(), current, current.start,
              f.alternative);
        }
        current.end = pos;
        done.add(current);
      }
    }

    /** The next line without its CRLF, or null when the stream ends first. */
    private String line(Stop stop) throws Failure {
      int start = pos;
      for (int i = pos; i < in.length; i++) {
        byte b = in[i];
        if (b == '\n') {
          throw new Failure(stop, 400, "bare LF at offset " + i, i);
        }
        if (b == '\r') {
          if (i + 1 >= in.length) {
            return null;
          }
          if (in[i + 1] != '\n') {
            throw new Failure(stop, 400, "CR not followed by LF at offset " + i, i);
          }
          pos = i + 2;
          return new String(in, start, i - start, StandardCharsets.ISO_8859_1);
        }
      }
      return null;
    }

    /**
     * A head over the size limits gets 414/431 from Netty, unless the gateway's byte scanner, which
     * may see the bytes first, finds a syntax error further on: then either status is right,
     * depending on how the bytes arrived. So a size problem is remembered, the head is read on,
     * and a later syntax error is reported with the size status as its alternative.
     */
    private int oversize;

    private boolean readHead() throws Failure {
      oversize = 0;
      try {
        boolean complete = readHeadLines();
        if (oversize != 0) {
          throw new Failure(Stop.BAD_HEAD, oversize, "head larger than the limits");
        }
        return complete;
      } catch (Failure f) {
        if (oversize != 0 && f.status != oversize) {
          f.alternative = oversize;
        } else if (limits && f.offset - current.start > MAX_HEADER_BYTES) {
          f.alternative = 431; // a line cut off by the error was already over the limit
        } else if (limits && f.alternative == 0 && f.status == 400) {
          f.alternative = oversizeAhead(current.start);
        }
        throw f;
      }
    }

    /**
     * 414 or 431 when the head that starts at {@code from} is over the limits further on than the
     * syntax error found first (0 otherwise). Netty judges a field line only when it has read the
     * next one, and the length of a line as it arrives, so a too long line after a malformed one,
     * or a start line too long before its bad byte, may be what the gateway sees first. Lines are
     * cut at CR or LF alike; the head ends at the first empty line.
     */
    private int oversizeAhead(int from) {
      int lineBytes = 0;
      int headerBytes = 0;
      boolean startLine = true;
      for (int i = from; i < in.length; i++) {
        byte b = in[i];
        if (b == '\r' || b == '\n') {
          if (b == '\r' && i + 1 < in.length && in[i + 1] == '\n') {
            i++;
          }
          if (!startLine && lineBytes == 0) {
            break;
          }
          startLine = false;
          lineBytes = 0;
          continue;
        }
        lineBytes++;
        if (startLine && lineBytes > MAX_INITIAL_LINE) {
          return 414;
        }
        if (!startLine && ++headerBytes > MAX_HEADER_BYTES) {
          return 431;
        }
      }
      return 0;
    }

    private boolean readHeadLines() throws Failure {
      String startLine;
      try {
        startLine = line(Stop.BAD_HEAD);
      } catch (Failure f) {
        // The gateway judges the request line at its first CR, before what follows the CR.
        int end = current.start;
        while (end < in.length && in[end] != '\r' && in[end] != '\n') {
          end++;
        }
        if (end >= in.length || in[end] == '\n') {
          throw f;
        }
        String partial = new String(in, current.start, end - current.start, StandardCharsets.ISO_8859_1);
        checkBytes(partial, "the start line", false);
        if (requests) {
          requestLine(partial);
        }
        throw f;
      }
      if (startLine == null) {
        checkPartialLine(current.start);
        return false;
      }
      current.startLine = startLine;
      checkBytes(startLine, "the start line", false);
      if (requests) {
        requestLine(startLine);
      } else {
        statusLine(startLine);
      }
      int headerBytes = 0;
      while (true) {
        int lineStart = pos;
        String l = line(Stop.BAD_HEAD);
        if (l == null) {
          checkPartialLine(lineStart);
          return false;
        }
        if (l.isEmpty()) {
          break;
        }
        headerBytes += l.length();
        if (limits && headerBytes > MAX_HEADER_BYTES && oversize == 0) {
          oversize = 431;
        }
        if (l.charAt(0) == ' ' || l.charAt(0) == '\t') {
          throw new Failure(Stop.BAD_HEAD, 400, "obs-fold: " + l);
        }
        checkBytes(l, "a field line", true);
        int colon = l.indexOf(':');
        if (colon <= 0) {
          throw new Failure(Stop.BAD_HEAD, 400, "a field line without a name and colon: " + l);
        }
        String name = l.substring(0, colon);
        if (!isToken(name)) {
          throw new Failure(Stop.BAD_HEAD, 400, "a field name that is not a token: " + name);
        }
        current.fields.add(new Field(name, trimOws(l.substring(colon + 1))));
      }
      framing();
      return true;
    }

    /** A partial line at the end of the stream must still be made of allowed bytes so far. */
    private void checkPartialLine(int from) throws Failure {
      String rest = new String(in, from, in.length - from, StandardCharsets.ISO_8859_1);
      if (rest.endsWith("\r")) {
        rest = rest.substring(0, rest.length() - 1);
      }
      if (limits && from == current.start && rest.length() > MAX_INITIAL_LINE && oversize == 0) {
        oversize = 414;
      }
      checkBytes(rest, "a partial line", true);
      if (from > current.start && !rest.isEmpty() && (rest.charAt(0) == ' ' || rest.charAt(0) == '\t')) {
        throw new Failure(Stop.BAD_HEAD, 400, "obs-fold");
      }
    }

    private void checkBytes(String l, String where, boolean tabAllowed) throws Failure {
      for (int i = 0; i < l.length(); i++) {
        char c = l.charAt(i);
        if (c > 0x7e) {
          throw new Failure(Stop.BAD_HEAD, 400, "non-ASCII byte in " + where);
        }
        if ((c < 0x20 && !(c == '\t' && tabAllowed)) || c == 0x7f) {
          throw new Failure(Stop.BAD_HEAD, 400,
              "control character 0x" + Integer.toHexString(c) + " in " + where);
        }
      }
    }

    private void requestLine(String l) throws Failure {
      if (limits && l.length() > MAX_INITIAL_LINE && oversize == 0) {
        oversize = 414;
      }
      String[] parts = l.split(" ", -1);
      if (parts.length != 3) {
        throw new Failure(Stop.BAD_HEAD, 400, "not METHOD SP target SP version: " + l);
      }
      String version = parts[2];
      if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
        boolean shaped = version.length() == 8 && version.startsWith("HTTP/")
            && Character.isDigit(version.charAt(5)) && version.charAt(6) == '.'
            && Character.isDigit(version.charAt(7));
        throw new Failure(Stop.BAD_HEAD, shaped ? 505 : 400, "version " + version);
      }
      if (!isToken(parts[0])) {
        throw new Failure(Stop.BAD_HEAD, 400, "a method that is not a token: " + parts[0]);
      }
      if (parts[1].isEmpty()) {
        throw new Failure(Stop.BAD_HEAD, 400, "an empty request target");
      }
      current.method = parts[0];
      current.target = parts[1];
      current.version = version;
    }

    private void statusLine(String l) throws Failure {
      // status-line = HTTP-version SP status-code SP [ reason-phrase ]
      if (l.length() < 13 || !l.startsWith("HTTP/1.1 ") || l.charAt(12) != ' ') {
        throw new Failure(Stop.BAD_HEAD, 0, "not HTTP/1.1 SP 3DIGIT SP reason: " + l);
      }
      String code = l.substring(9, 12);
      for (int i = 0; i < 3; i++) {
        if (!Character.isDigit(code.charAt(i))) {
          throw new Failure(Stop.BAD_HEAD, 0, "status code " + code);
        }
      }
      current.version = "HTTP/1.1";
      current.status = Integer.parseInt(code);
    }

    /** Content-Length and Transfer-Encoding, as RFC 9112 §6 says and the gateway documents. */
    private void framing() throws Failure {
      List<String> te = current.all("Transfer-Encoding");
      List<String> cl = current.all("Content-Length");
      if (!te.isEmpty()) {
        if (requests && "HTTP/1.0".equals(current.version)) {
          throw new Failure(Stop.BAD_HEAD, 400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        if (!cl.isEmpty()) {
          throw new Failure(Stop.BAD_HEAD, 400, "Content-Length with Transfer-Encoding");
        }
        List<String> codings = codings(te);
        if (codings.stream().filter("chunked"::equals).count() > 1) {
          // RFC 9112 §6.1: a framing error, refused by the gateway's decoder (Netty) before the
          // admission rules look at the method: CONNECT with chunked twice is 400, not 501.
          throw new Failure(Stop.BAD_HEAD, 400, "chunked applied more than once: " + te);
        }
        if (codings.isEmpty() || !codings.get(codings.size() - 1).equals("chunked")) {
          throw new Failure(Stop.BAD_HEAD, 400, "chunked is not the last transfer coding: " + te);
        }
        current.chunked = true;
      } else if (!cl.isEmpty()) {
        if (cl.size() > 1) {
          throw new Failure(Stop.BAD_HEAD, 400, "more than one Content-Length: " + cl);
        }
        parseLength(cl.get(0));
      }
    }

    private long parseLength(String v) throws Failure {
      if (v.isEmpty() || v.length() > 18) {
        throw new Failure(Stop.BAD_HEAD, 400, "Content-Length " + v);
      }
      for (int i = 0; i < v.length(); i++) {
        if (!Character.isDigit(v.charAt(i)) || v.charAt(i) > '9') {
          throw new Failure(Stop.BAD_HEAD, 400, "Content-Length " + v);
        }
      }
      return Long.parseLong(v);
    }

    private boolean readBody() throws Failure {
      if (!requests) {
        return readResponseBody();
      }
      if (current.chunked) {
        return readChunked();
      }
      String cl = current.first("Content-Length");
      long length = cl == null ? 0 : parseLength(cl);
      return readFixed(length);
    }

    private boolean readFixed(long length) {
      long available = in.length - pos;
      int n = (int) Math.min(length, available);
      current.body.write(in, pos, n);
      pos += n;
      return n == length;
    }

    private boolean readResponseBody() throws Failure {
      int index = (int) done.stream().filter(m -> m.status >= 200 || m.status == 101).count();
      boolean head = heads != null && index < heads.size() && heads.get(index);
      int code = current.status;
      if (code < 200 || code == 204 || code == 304 || head) {
        return true;
      }
      if (current.chunked) {
        return readChunked();
      }
      String cl = current.first("Content-Length");
      if (cl == null) {
        current.body.write(in, pos, in.length - pos); // delimited by the close
        pos = in.length;
        return true;
      }
      return readFixed(parseLength(cl));
    }

    /**
     * chunked-body = *chunk last-chunk trailer-section CRLF; chunk = chunk-size [ chunk-ext ] CRLF
     * chunk-data CRLF; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ). Sizes that
     * do not fit in 31 bits are refused (the gateway's limit).
     */
    private boolean readChunked() throws Failure {
      while (true) {
        String sizeLine = line(Stop.BAD_BODY);
        if (sizeLine == null) {
          return false;
        }
        int end = 0;
        while (end < sizeLine.length() && sizeLine.charAt(end) < 0x80
            && Character.digit(sizeLine.charAt(end), 16) >= 0) {
          end++;
        }
        if (end == 0 || !validExtensions(sizeLine.substring(end))) {
          throw new Failure(Stop.BAD_BODY, 400, "chunk size line " + sizeLine);
        }
        String digits = sizeLine.substring(0, end).replaceFirst("^0+(?=.)", "");
        if (digits.length() > 8 || Long.parseLong(digits, 16) > Integer.MAX_VALUE) {
          throw new Failure(Stop.BAD_BODY, 400, "chunk size overflows: " + sizeLine);
        }
        long size = Long.parseLong(digits, 16);
        if (size == 0) {
          break;
        }
        if (!readFixed(size)) {
          return false;
        }
        if (pos + 2 > in.length) {
          // Netty judges the two bytes after chunk data together: one wrong byte alone (a bare
          // LF) leaves it waiting for the second, as a request it has not seen the end of.
          return false;
        }
        if (in[pos] != '\r' || in[pos + 1] != '\n') {
          throw new Failure(Stop.BAD_BODY, 400, "chunk data not followed by CRLF");
        }
        pos += 2;
      }
      boolean afterField = false;
      while (true) {
        String l = line(Stop.BAD_BODY);
        if (l == null) {
          return false;
        }
        if (l.isEmpty()) {
          return true;
        }
        if (l.charAt(0) == ' ' || l.charAt(0) == '\t') {
          if (!afterField) {
            // Nothing to fold into: not a field line (RFC 9112 §5.2), and Netty refuses it too.
            throw new Failure(Stop.BAD_BODY, 400, "a trailer line starting with whitespace: " + l);
          }
          // obs-fold after a trailer field: Netty joins the lines. Tolerated here because the
          // gateway forwards the joined field, filtered, never the fold itself.
          continue;
        }
        int colon = l.indexOf(':');
        if (colon <= 0 || !isToken(l.substring(0, colon))) {
          throw new Failure(Stop.BAD_BODY, 400, "a bad trailer field: " + l);
        }
        for (int i = 0; i < l.length(); i++) {
          char c = l.charAt(i);
          if ((c < 0x20 && c != '\t') || c == 0x7f) {
            throw new Failure(Stop.BAD_BODY, 400, "control character in a trailer field");
          }
        }
        current.trailers.add(new Field(l.substring(0, colon), trimOws(l.substring(colon + 1))));
        afterField = true;
      }
    }
  }

  /**
   * What may follow the size on a chunk-size line, as the gateway's decoder (Netty 4.2) checks it:
   * nothing, or BWS {@code ;} and extensions its chunk-line validator takes. That is more lenient
   * than RFC 9112's {@code chunk-ext} (an extension name may hold any visible character but the
   * delimiters, {@code "} and whitespace included, and be empty; {@code 5;"} and {@code 5;a b}
   * pass), but not in a way a next hop sees: the gateway drops extensions when it re-frames the
   * body. Refused: control characters but HTAB, non-ASCII bytes (Netty 4.2.18 refuses them even
   * as obs-text in a quoted value), whitespace after a token value, a value missing after {@code
   * =}, an unterminated quoted string, whitespace after the size without {@code ;}. Checked
   * against Netty on 600,000 random extension strings.
   */
  static boolean validExtensions(String ext) {
    int i = skipBws(ext, 0);
    if (i == ext.length()) {
      return i == 0; // whitespace after the size without an extension
    }
    if (ext.charAt(i) != ';') {
      return false;
    }
    // Netty's chunk-line validator, from the ';' on (before it: the size and BWS, checked above).
    final int name = 1;
    final int valueStart = 2;
    final int quoted = 3;
    final int escape = 4;
    final int quotedEnd = 5;
    final int token = 6;
    int state = name;
    for (i = i + 1; i < ext.length(); i++) {
      char c = ext.charAt(i);
      boolean ws = c == ' ' || c == '\t';
      boolean visible = c >= 0x21 && c <= 0x7e;
      boolean delimiter = "(),/:<=>?@[\\]{}".indexOf(c) >= 0;
      switch (state) {
        case name -> {
          if (c == '=') {
            state = valueStart;
          } else if (!((visible && !delimiter) || ws)) {
            return false;
          }
        }
        case valueStart -> {
          if (c == '"') {
            state = quoted;
          } else if (visible && !delimiter) {
            state = token;
          } else if (!ws) {
            return false;
          }
        }
        case quoted -> {
          if (c == '\\') {
            state = escape;
          } else if (c == '"') {
            state = quotedEnd;
          } else if (!(ws || c == '!' || (c >= 0x23 && c <= 0x7e))) {
            return false;
          }
        }
        case escape -> {
          if (!(ws || visible)) {
            return false;
          }
          state = quoted;
        }
        case quotedEnd -> {
          if (c == ';') {
            state = name;
          } else if (!ws) {
            return false;
          }
        }
        case token -> {
          if (c == ';') {
            state = name;
          } else if (!visible || delimiter) {
            return false;
          }
        }
        default -> throw new IllegalStateException();
      }
    }
    return state != valueStart && state != quoted && state != escape;
  }

  private static int skipBws(String s, int i) {
    while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
      i++;
    }
    return i;
  }

  static String trimOws(String s) {
    int a = 0;
    int b = s.length();
    while (a < b && (s.charAt(a) == ' ' || s.charAt(a) == '\t')) {
      a++;
    }
    while (b > a && (s.charAt(b - 1) == ' ' || s.charAt(b - 1) == '\t')) {
      b--;
    }
    return s.substring(a, b);
  }

  /** The transfer codings of all Transfer-Encoding fields, lower case, empty elements skipped. */
  static List<String> codings(List<String> te) {
    List<String> codings = new ArrayList<>();
    for (String v : te) {
      for (String c : v.split(",", -1)) {
        String t = trimOws(c).toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          codings.add(t);
        }
      }
    }
    return codings;
  }

  /** Bytes as readable text: printable ASCII as is, the rest escaped. For failure reports. */
  static String show(byte[] b, int max) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < b.length && s.length() < max; i++) {
      int c = b[i] & 0xff;
      if (c == '\r') {
        s.append("\\r");
      } else if (c == '\n') {
        s.append("\\n");
      } else if (c == '\\') {
        s.append("\\\\");
      } else if (c < 0x20 || c >= 0x7f) {
        s.append(String.format("\\x%02x", c));
      } else {
        s.append((char) c);
      }
    }
    if (s.length() >= max) {
      s.append("...(").append(b.length).append(" bytes)");
    }
    return s.toString();
  }
}
