package io.herd.proxy;

import io.herd.proxy.FrontDoorModel.Rule;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;

/**
 * Request streams for the front-door fuzz test: a corpus of valid and known-nasty requests (each
 * drawn with random details), byte- and line-level mutations of them, several pipelined in one
 * stream. Everything is drawn from the {@link Random} it is given, so a case is replayed from its
 * seed. Stateless; thread-safe.
 */
final class FrontDoorCorpus {

  private FrontDoorCorpus() {}

  /** A request being drawn: the parts, rendered by {@link #render}. Mutable. */
  static final class Draft {
    String method = "GET";
    String target = "/x";
    String version = "HTTP/1.1";
    final List<String> lines = new ArrayList<>(); // field lines as sent, without CRLF
    byte[] body = new byte[0];
    /** null: no framing header is added; "cl" or "chunked" frame {@link #body}. */
    String framing;
    List<String> chunkLines; // for chunked: explicit chunk-size lines (null: derived)
    String extension = "";
    final List<String> trailers = new ArrayList<>();
    String prefix = "";

    Draft field(String name, String value) {
      lines.add(name + ": " + value);
      return this;
    }

    byte[] render() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      write(out, prefix + method + " " + target + " " + version + "\r\n");
      for (String l : lines) {
        write(out, l + "\r\n");
      }
      if ("cl".equals(framing)) {
        write(out, "Content-Length: " + body.length + "\r\n");
      } else if ("chunked".equals(framing)) {
        write(out, "Transfer-Encoding: chunked\r\n");
      }
      write(out, "\r\n");
      if ("chunked".equals(framing)) {
        int at = 0;
        int pieces = chunkLines == null ? 0 : chunkLines.size();
        if (chunkLines != null) {
          for (String line : chunkLines) {
            write(out, line + "\r\n");
          }
        } else {
          while (at < body.length) {
            int n = Math.min(body.length - at, 1 + (at * 7 + body.length) % 23);
            write(out, Integer.toHexString(n) + extension + "\r\n");
            out.write(body, at, n);
            write(out, "\r\n");
            at += n;
          }
        }
        if (pieces == 0) {
          write(out, "0" + extension + "\r\n");
          for (String t : trailers) {
            write(out, t + "\r\n");
          }
          write(out, "\r\n");
        }
      } else {
        out.write(body, 0, body.length);
      }
      return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, String s) {
      byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
      out.write(b, 0, b.length);
    }
  }

  static final String[] KEYS = {"k1", "k2", "alice", "bob", "a/b", "x.y-z", "Z9", "sess_1"};

  /** Puts {@code key} where {@code rule} looks for it. */
  static void key(Draft d, Rule rule, String key) {
    switch (rule) {
      case HEADER -> d.field("X-Session-ID", key);
      case COOKIE -> d.field("Cookie", "sid=" + key);
      case QUERY -> d.target = d.target + (d.target.contains("?") ? "&" : "?") + "sid=" + encode(key);
      case PATH -> d.target = d.target.startsWith("/") ? "/s/" + encode(key) + d.target : d.target;
    }
  }

  private static String encode(String key) {
    return key.replace("%", "%25").replace("/", "%2F").replace("&", "%26").replace("+", "%2B")
        .replace("?", "%3F").replace("#", "%23");
  }

  /** The closing request each stream ends with: valid, keyed, {@code Connection: close}. */
  static byte[] sentinel(Rule rule) {
    Draft d = new Draft();
    d.target = "/__end";
    d.field("Host", "sentinel");
    key(d, rule, "sentinel");
    d.field("Connection", "close");
    return d.render();
  }

  private static String pick(Random r, String... options) {
    return options[r.nextInt(options.length)];
  }

  private static byte[] text(Random r, int max) {
    int n = r.nextInt(max + 1);
    byte[] b = new byte[n];
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \r\n:;=-_/%";
    for (int i = 0; i < n; i++) {
      b[i] = (byte) alphabet.charAt(r.nextInt(alphabet.length()));
    }
    if (n > 0 && r.nextInt(4) == 0) {
      // a body that looks like a request: it must stay a body
      byte[] looks = "GET /smuggled HTTP/1.1\r\nHost: h\r\nX-Session-ID: evil\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII);
      byte[] both = new byte[n + looks.length];
      System.arraycopy(b, 0, both, 0, n);
      System.arraycopy(looks, 0, both, n, looks.length);
      return both;
    }
    return b;
  }

  /** The corpus: each entry draws one request (valid or nasty) for {@code rule}. */
  private static final List<BiConsumer<Draft, Random>> NASTY = List.of(
      (d, r) -> d.field("Content-Length", "4").field("Transfer-Encoding", "chunked"),
      (d, r) -> d.field("Content-Length", "3").field("Content-Length", pick(r, "3", "4")),
      (d, r) -> d.field("Content-Length", pick(r, "3, 3", "3,4", "-1", "0x10", "+3", "3 3", "1e3",
          "99999999999999999999", "", "0003", " 3", "3\t")),
      (d, r) -> d.field("Transfer-Encoding", pick(r, "chunked, gzip", "gzip, chunked", "gzip",
          "identity", "chunked, chunked", "Chunked", "CHUNKED", "chunked,", ", chunked",
          "chunked;q=1", "\"chunked\"", "x-chunked", "chunked , identity")),
      (d, r) -> d.field("Transfer-Encoding", "chunked").field("Transfer-Encoding",
          pick(r, "chunked", "identity", "gzip", "")),
      (d, r) -> d.lines.add(pick(r, "X-A: a\r\n b", "X-A: a\r\n\tb", "X-A: a\nX-B: b", "X-A: a\rb",
          "X-A: a\u0000b", "X-A: a\u007fb", "X-A: a\u0001b", "X-A: a\u00ffb", "X-\u00e9: a",
          "Content-Length : 3", "Content-Length\t: 3", "X-A : b", ": empty", "NoColon",
          "X A: b", "X-A:\tb\t", "X(A): b", "X-A: \"quoted\"", " X-Leading: b")),
      (d, r) -> d.lines.add(pick(r, "Content_Length: 3", "Transfer_Encoding: chunked",
          "X_Session_ID: evil", "X-Forwarded_For: 6.6.6.6", "Host_: x", "X_Custom: 1")),
      (d, r) -> d.lines.add(pick(r, "X-Forwarded-For: 6.6.6.6", "X-Real-IP: 6.6.6.6",
          "True-Client-IP: 6.6.6.6", "Forwarded: for=6.6.6.6", "X-Forwarded-Host: evil",
          "X-Forwarded-Proto: https", "X-Forwarded-Port: 1", "X-Forwarded-Prefix: /evil",
          "X-Original-URL: /admin", "X-Rewrite-URL: /admin", "x-forwarded-for: 6.6.6.6")),
      (d, r) -> d.lines.add(pick(r, "Connection: X-Drop, keep-alive", "Keep-Alive: timeout=5",
          "TE: trailers", "Trailer: X-T", "Proxy-Authorization: Basic eA==",
          "Proxy-Connection: keep-alive", "Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings",
          "Connection: close, Host", "Connection: Transfer-Encoding", "Connection: X-Session-ID",
          "Connection: Cookie", "Connection: ,,", "Expect: 100-continue", "Expect: foo",
          "Expect: 100-Continue")),
      (d, r) -> {
        d.method = pick(r, "CONNECT", "get", "G ET", "GET\t", "G(ET", "", "PO\u00d6ST", "PATCH",
            "PRI", "OPTIONS", "TRACE", "DELETE", "M-SEARCH");
        if (d.method.equals("CONNECT")) {
          d.target = pick(r, "h:22", "/x");
        }
      },
      (d, r) -> d.target = pick(r, "*", "c/1", "h:80", "ftp://h/x", "http://u@h/x", "/x#f",
          "http://target.example:8080/a?b=1", "HTTP://Up.Example", "https://h", "http://",
          "http:///x", "//double/slash", "/%zz", "/a%00b", "/\u00e9", "/a b", "/a\tb",
          "http://h?q", "/" + "y".repeat(9000)),
      (d, r) -> d.version = pick(r, "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1", "HTTP/1.10",
          "HTTP/01.1", "HTTP/0.9", "", "HTTP/1.1 ", " HTTP/1.1", "HTTP/1.1x", "HTTP/9.9"),
      (d, r) -> {
        d.framing = "chunked";
        d.body = text(r, 20);
        d.chunkLines = new ArrayList<>(List.of(pick(r,
            "fffffffffffffffff1", "-1", "0x5", "00005", " 5", "5 ", "5;a=\"b\"", "5 ; ext",
            "5\u0001", "zz", "", "8000000", "7fffffff", "5;\u00ff")));
        int size;
        try {
          size = Integer.parseInt(d.chunkLines.get(0).trim().replaceAll("[^0-9a-fA-F].*", ""), 16);
        } catch (NumberFormatException e) {
          size = 5;
        }
        d.chunkLines.add(size < 64 ? "x".repeat(size) : "xxxxx");
        d.chunkLines.add("0");
        d.chunkLines.add("");
      },
      (d, r) -> {
        d.framing = "chunked";
        d.body = text(r, 10);
        d.trailers.add(pick(r, "X-T: 1", "Content-Length: 5", "Transfer-Encoding: chunked",
            "Host: evil", "X-Session-ID: other", "X_Session_ID: other", "X-Forwarded-For: 6.6.6.6",
            "Connection: close", "X-T: a\r\n b", "X-T: a\u0000", "X-T: \u00ff"));
      },
      (d, r) -> {
        d.framing = "chunked";
        d.body = "abcdef".getBytes(StandardCharsets.US_ASCII);
        d.chunkLines = new ArrayList<>(List.of("3", "abcX", "0", ""));
      },
      (d, r) -> d.lines.removeIf(l -> l.startsWith("Host:")),
      (d, r) -> d.field("Host", pick(r, "other", "h", "")),
      (d, r) -> d.prefix = "\r\n".repeat(1 + r.nextInt(r.nextBoolean() ? 3 : 1500)),
      (d, r) -> {
        // a head larger than the gateway's scan window but within Netty's limits
        for (int i = 0; i < 6800; i++) {
          d.lines.add("a:");
        }
        d.lines.add(pick(r, "X-Late: ok", "X-Late: a\r\n b", "X-Late: \u00ff", "X_Late: x"));
      },
      (d, r) -> d.field("X-Big", "b".repeat(17000)));

  /** Conflicting, duplicate or oddly encoded keys for {@code rule}, or keys in other places. */
  private static void nastyKey(Draft d, Rule rule, Random r) {
    String a = KEYS[r.nextInt(KEYS.length)];
    switch (r.nextInt(8)) {
      case 0 -> {
        key(d, rule, a);
        key(d, rule, a);
      }
      case 1 -> {
        key(d, rule, a);
        key(d, rule, a + "x");
      }
      case 2 -> {
        key(d, rule, a);
        d.field("X-Session-ID", "other");
        d.field("Cookie", "sid=other");
        d.target = d.target + (d.target.contains("?") ? "&" : "?") + "sid=other";
      }
      case 3 -> {
        switch (rule) {
          case HEADER -> d.field("X-Session-ID", pick(r, "a b", "", "\u00e9", "x".repeat(300),
              "a,b", "\"q\"", "%41"));
          case COOKIE -> d.field("Cookie", pick(r, "sid=a; sid=b", "sid=\"a\"; sid=a", "sid=a,sid=b",
              "SID=b; sid=a", "sid=a;sid=a", "sid=", "sid = a", "other=1; sid=a; more=2"));
          case QUERY -> d.target = d.target + pick(r, "?sid=a&sid=b", "?sid=a&%73id=b",
              "?sid=a;sid=b", "?sid=a&sid=a", "?sid=a+b", "?sid=%61", "?sid=%zz", "?sid=%",
              "?sid", "?sid=&x=1", "?SID=a", "?sid=%E2%82%AC", "?sid=%C3");
          case PATH -> d.target = pick(r, "/s/a%2Fb/x", "/s//x", "/s/%zz/x", "/s", "/s/", "/s/a+b/x",
              "/s/%41/x?y=1", "/s/a;b/x", "/s/%C3/x");
        }
      }
      case 4 -> d.lines.add("X_Session_ID: " + a);
      case 5 -> d.field("Cookie", "sid=" + a + "; sid=" + a);
      default -> key(d, rule, a);
    }
  }

  /** One request: a valid one from the corpus, often with a nasty detail. */
  static byte[] request(Random r, Rule rule) {
    Draft d = new Draft();
    switch (r.nextInt(10)) {
      case 0 -> d.method = "HEAD";
      case 1 -> {
        d.method = "POST";
        d.framing = "cl";
        d.body = text(r, 40);
      }
      case 2 -> {
        d.method = "POST";
        d.framing = "chunked";
        d.body = text(r, 60);
        if (r.nextBoolean()) {
          d.extension = pick(r, ";a=b", ";a", ";a=\"b c\"", " ;a");
        }
        if (r.nextInt(3) == 0) {
          d.trailers.add(pick(r, "X-T: 1", "X-Checksum: abc"));
        }
      }
      case 3 -> {
        d.method = "OPTIONS";
        d.target = "*";
      }
      case 4 -> d.version = "HTTP/1.0";
      case 5 -> {
        d.version = r.nextInt(3) == 0 ? "HTTP/1.0" : "HTTP/1.1";
        d.method = "PUT";
        d.framing = "cl";
        d.body = text(r, 20);
        d.field("Expect", "100-continue");
      }
      case 6 -> d.target = "http://h.example/abs?q=1";
      case 7 -> d.field("Connection", pick(r, "close", "keep-alive", "Upgrade")).field("Upgrade", "websocket");
      default -> d.target = pick(r, "/x", "/a/b?c=d", "/", "/%41%2F");
    }
    if (!(d.version.equals("HTTP/1.0") && r.nextBoolean())) {
      d.lines.add(0, "Host: h");
    }
    boolean nasty = r.nextInt(3) > 0;
    if (nasty && r.nextInt(3) == 0) {
      nastyKey(d, rule, r);
    } else {
      key(d, rule, KEYS[r.nextInt(KEYS.length)]);
    }
    if (nasty) {
      int n = 1 + (r.nextInt(4) == 0 ? 1 : 0);
      for (int i = 0; i < n; i++) {
        NASTY.get(r.nextInt(NASTY.size())).accept(d, r);
      }
    }
    if (d.framing == null && (d.method.equals("POST") || d.method.equals("PUT")) && r.nextBoolean()) {
      d.framing = "cl";
    }
    java.util.Collections.shuffle(d.lines.subList(Math.min(1, d.lines.size()), d.lines.size()), r);
    byte[] b = d.render();
    return r.nextInt(4) == 0 ? mutate(b, r) : b;
  }

  private static final byte[] SPECIAL = " \t\r\n:;,=_-\"\u0000\u007f\u00ff0123456789abcdefHTTP/%?#"
      .getBytes(StandardCharsets.ISO_8859_1);

  /** One to three byte- or line-level changes. */
  static byte[] mutate(byte[] in, Random r) {
    byte[] b = in;
    int n = 1 + r.nextInt(3);
    for (int i = 0; i < n && b.length > 0; i++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(8)) {
        case 0 -> { // replace a byte
          b = b.clone();
          b[at] = SPECIAL[r.nextInt(SPECIAL.length)];
        }
        case 1 -> b = splice(b, at, 0, new byte[] {SPECIAL[r.nextInt(SPECIAL.length)]});
        case 2 -> b = splice(b, at, 1 + r.nextInt(Math.min(8, b.length - at)), new byte[0]);
        case 3 -> { // a CRLF becomes LF, CR, or CRCRLF
          int crlf = indexOf(b, "\r\n", at);
          if (crlf >= 0) {
            b = splice(b, crlf, 2, pick(r, "\n", "\r", "\r\r\n", "\n\r").getBytes(StandardCharsets.US_ASCII));
          }
        }
        case 4 -> { // duplicate a line
          int start = lineStart(b, at);
          int end = indexOf(b, "\r\n", start);
          if (end >= 0) {
            byte[] line = java.util.Arrays.copyOfRange(b, start, end + 2);
            b = splice(b, start, 0, line);
          }
        }
        case 5 -> { // drop a line
          int start = lineStart(b, at);
          int end = indexOf(b, "\r\n", start);
          if (end >= 0) {
            b = splice(b, start, end + 2 - start, new byte[0]);
          }
        }
        case 6 -> b = java.util.Arrays.copyOf(b, at); // truncate
        default -> { // change a digit
          for (int k = at; k < b.length; k++) {
            if (b[k] >= '0' && b[k] <= '9') {
              b = b.clone();
              b[k] = (byte) ('0' + r.nextInt(10));
              break;
            }
          }
        }
      }
    }
    return b;
  }

  private static int lineStart(byte[] b, int at) {
    int i = Math.min(at, b.length - 1);
    while (i > 0 && b[i - 1] != '\n') {
      i--;
    }
    return i;
  }

  private static int indexOf(byte[] b, String s, int from) {
    byte[] p = s.getBytes(StandardCharsets.US_ASCII);
    outer:
    for (int i = Math.max(0, from); i <= b.length - p.length; i++) {
      for (int j = 0; j < p.length; j++) {
        if (b[i + j] != p[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(insert, 0, out, at, insert.length);
    System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
    return out;
  }

  /** One to three requests in one stream, then the sentinel. */
  static byte[] stream(Random r, Rule rule) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int n = 1 + (r.nextInt(3) == 0 ? 1 + r.nextInt(2) : 0);
    for (int i = 0; i < n; i++) {
      byte[] req = request(r, rule);
      out.write(req, 0, req.length);
    }
    byte[] end = sentinel(rule);
    out.write(end, 0, end.length);
    return out.toByteArray();
  }
}
