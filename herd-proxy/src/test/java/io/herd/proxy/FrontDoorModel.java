package io.herd.proxy;

import io.herd.proxy.Http1Reference.Field;
import io.herd.proxy.Http1Reference.Message;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The gateway's documented admission rules (package {@code io.herd.proxy}'s status table, issue
 * 13's strict front door), written again for the fuzz test from the documentation rather than
 * from the code: given a request that {@link Http1Reference} read, whether the gateway admits it,
 * and if so exactly what the worker must receive; if not, which status the client must get.
 *
 * <p>The order of the checks is the gateway's (framing was the parser's, as it is the gateway's
 * decoder's, chunked twice included): CONNECT, the target, Host, transfer codings, Expect, then
 * the session key after header names with {@code _} were dropped. Stateless; thread-safe.
 */
final class FrontDoorModel {

  /** The session key rules the fuzz test runs a gateway for. */
  enum Rule {
    HEADER("header:X-Session-ID"),
    COOKIE("cookie:sid"),
    QUERY("query:sid"),
    PATH("path:1:strip");

    final String spec;

    Rule(String spec) {
      this.spec = spec;
    }
  }

  /**
   * Forwarding headers only a trusted proxy may state (lower case): the worker must see none of
   * them from an untrusted client, except those the gateway sets itself from the connection.
   * Written independently of the gateway's list; every entry must be stripped.
   */
  static final Set<String> FORWARDING = Set.of(
      "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
      "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-scheme", "x-forwarded-ssl",
      "x-forwarded-uri", "x-real-ip", "true-client-ip", "x-client-ip", "x-cluster-client-ip",
      "client-ip", "cf-connecting-ip", "fastly-client-ip", "x-original-url", "x-rewrite-url",
      "x-original-host", "x-original-uri", "x-host");

  /** Hop-by-hop fields (RFC 9110 §7.6.1) that never reach a worker as the client sent them. */
  static final Set<String> HOP_BY_HOP = Set.of(
      "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
      "proxy-authorization", "proxy-authenticate", "expect");

  /**
   * The model's decision. {@code status} 0 means admitted: then {@code target} and {@code fields}
   * are what the worker must see (fields as a sorted multiset, names lower case), {@code close}
   * whether the client connection ends after the response.
   */
  record Verdict(int status, String why, String key, String target, List<String> fields,
      boolean close, boolean head, boolean interimAllowed) {
    boolean admitted() {
      return status == 0;
    }
  }

  private FrontDoorModel() {}

  static Verdict admit(Message req, Rule rule, String clientIp, int gatewayPort) {
    String method = req.method;
    if (method.equals("CONNECT")) {
      return refuse(501, "CONNECT");
    }
    String target = req.target;
    String authority = null;
    if (target.indexOf('#') >= 0) {
      return refuse(400, "fragment in the target");
    } else if (target.startsWith("/")) {
      // origin-form
    } else if (target.equals("*")) {
      if (!method.equals("OPTIONS")) {
        return refuse(400, "* is for OPTIONS only");
      }
    } else {
      int schemeEnd = target.indexOf("://");
      if (schemeEnd <= 0) {
        return refuse(400, "not origin-form");
      }
      String scheme = target.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        return refuse(400, "scheme " + scheme);
      }
      int start = schemeEnd + 3;
      int end = start;
      while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
        end++;
      }
      authority = target.substring(start, end);
      if (authority.isEmpty() || authority.contains("@")) {
        return refuse(400, "absolute-form authority " + authority);
      }
      String rest = target.substring(end);
      target = rest.isEmpty() || rest.startsWith("?") ? "/" + rest : rest;
    }
    boolean http10 = req.version.equals("HTTP/1.0");
    List<Field> fields = new ArrayList<>(req.fields);
    int hosts = count(fields, "host");
    if (hosts > 1 || (hosts == 0 && !http10)) {
      return refuse(400, "not exactly one Host (HTTP/1.0: at most one)");
    }
    // chunked twice is framing: the parser refused it already (400, before CONNECT).
    List<String> codings = Http1Reference.codings(values(fields, "transfer-encoding"));
    if (codings.stream().anyMatch(c -> !c.equals("chunked"))) {
      return refuse(501, "a coding other than chunked");
    }
    String expect = first(fields, "expect");
    if (expect != null && !expect.equalsIgnoreCase("100-continue")) {
      return refuse(417, "Expect: " + expect);
    }
    if (authority != null) {
      removeAll(fields, "host");
      fields.add(new Field("Host", authority));
    }
    fields.removeIf(f -> f.name().indexOf('_') >= 0);

    // The session key: one per request, valid, decoded once where it travels encoded.
    String key;
    switch (rule) {
      case HEADER -> {
        List<String> keys = values(fields, "x-session-id");
        if (keys.stream().distinct().count() > 1) {
          return refuse(400, "two different keys");
        }
        key = keys.isEmpty() ? null : keys.get(0);
        if (keys.size() > 1) {
          removeAll(fields, "x-session-id");
          fields.add(new Field("X-Session-ID", key));
        }
      }
      case COOKIE -> {
        List<String> pairs = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (String header : values(fields, "cookie")) {
          for (String part : header.split(";")) {
            String pair = part.trim();
            if (pair.isEmpty()) {
              continue;
            }
            pairs.add(pair);
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).trim().equals("sid")) {
              String v = pair.substring(eq + 1).trim();
              keys.add(v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")
                  ? v.substring(1, v.length() - 1) : v);
            }
          }
        }
        if (keys.stream().distinct().count() > 1) {
          return refuse(400, "two different keys");
        }
        key = keys.isEmpty() ? null : keys.get(0);
        if (keys.size() > 1) {
          List<String> kept = new ArrayList<>();
          boolean seen = false;
          for (String pair : pairs) {
            int eq = pair.indexOf('=');
            boolean isKey = eq > 0 && pair.substring(0, eq).trim().equals("sid");
            if (!isKey || !seen) {
              kept.add(pair);
            }
            seen |= isKey;
          }
          removeAll(fields, "cookie");
          fields.add(new Field("Cookie", String.join("; ", kept)));
        }
      }
      case QUERY -> {
        int q = target.indexOf('?');
        List<String> keys = new ArrayList<>();
        if (q >= 0) {
          String[] params = target.substring(q + 1).split("&", -1);
          List<String> kept = new ArrayList<>();
          boolean seen = false;
          for (String p : params) {
            int eq = p.indexOf('=');
            String name = decodeOrNull(eq < 0 ? p : p.substring(0, eq), true);
            boolean isKey = "sid".equals(name);
            if (isKey) {
              String v = decodeOrNull(eq < 0 ? "" : p.substring(eq + 1), true);
              if (v == null) {
                return refuse(400, "a broken escape in the key");
              }
              keys.add(v);
            }
            if (!isKey || !seen) {
              kept.add(p);
            }
            seen |= isKey;
          }
          if (keys.stream().distinct().count() > 1) {
            return refuse(400, "two different keys");
          }
          if (keys.size() > 1) {
            target = target.substring(0, q + 1) + String.join("&", kept);
          }
        }
        key = keys.isEmpty() ? null : keys.get(0);
      }
      case PATH -> {
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String[] segments = path.split("/", -1);
        // "/s/<key>/rest": segments[0] is empty, the key is segments[2] (path segment 1)
        if (!path.startsWith("/") || segments.length < 3 || segments[2].isEmpty()) {
          key = null;
        } else {
          key = decodeOrNull(segments[2], false);
          if (key == null) {
            return refuse(400, "a broken escape in the key");
          }
          int start = segments[1].length() + 2; // "/" + segment 0 + "/"
          String rest = path.substring(0, start - 1) + path.substring(start + segments[2].length());
          target = (rest.isEmpty() ? "/" : rest) + (q < 0 ? "" : target.substring(q));
        }
      }
      default -> throw new IllegalStateException();
    }
    if (key == null) {
      return refuse(400, "no key");
    }
    if (key.isEmpty() || key.length() > 256 || !key.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
      return refuse(400, "an invalid key");
    }

    // Keep-alive and what the client sees before the response.
    List<String> connection = tokens(values(fields, "connection"));
    boolean close = connection.contains("close") || (http10 && !connection.contains("keep-alive"));
    boolean upgrade = count(fields, "upgrade") > 0 && connection.contains("upgrade");
    boolean interim = expect != null && !http10;

    // What the worker sees: hop-by-hop headers go, forwarding headers are the gateway's.
    String upgradeTo = upgrade ? first(fields, "upgrade") : null;
    for (String named : connection) {
      if (!named.equals("transfer-encoding") && !named.equals("content-length")
          && !named.equals("host")) {
        removeAll(fields, named);
      }
    }
    fields.removeIf(f -> HOP_BY_HOP.contains(f.lname()) || f.lname().startsWith("proxy-")
        || FORWARDING.contains(f.lname()));
    if (upgradeTo != null) {
      fields.add(new Field("Connection", "upgrade"));
      fields.add(new Field("Upgrade", upgradeTo));
    }
    String host = first(fields, "host");
    if (host == null) {
      // HTTP/1.0 without Host: the worker gets HTTP/1.1, with the address the client reached.
      host = "127.0.0.1:" + gatewayPort;
      fields.add(new Field("Host", host));
    }
    fields.add(new Field("X-Forwarded-For", clientIp));
    fields.add(new Field("X-Real-IP", clientIp));
    fields.add(new Field("X-Forwarded-Proto", "http"));
    fields.add(new Field("X-Forwarded-Port", Integer.toString(gatewayPort)));
    fields.add(new Field("X-Forwarded-Host", host));
    return new Verdict(0, "admitted", key, target, multiset(fields), close,
        method.equals("HEAD"), interim);
  }

  /** Field lines as a sorted multiset: {@code name: value}, names lower case. */
  static List<String> multiset(List<Field> fields) {
    List<String> lines = new ArrayList<>();
    for (Field f : fields) {
      lines.add(f.lname() + ": " + f.value());
    }
    lines.sort(null);
    return lines;
  }

  private static Verdict refuse(int status, String why) {
    return new Verdict(status, why, null, null, null, true, false, false);
  }

  private static int count(List<Field> fields, String lname) {
    return values(fields, lname).size();
  }

  private static List<String> values(List<Field> fields, String lname) {
    List<String> v = new ArrayList<>();
    for (Field f : fields) {
      if (f.lname().equals(lname)) {
        v.add(f.value());
      }
    }
    return v;
  }

  private static String first(List<Field> fields, String lname) {
    List<String> v = values(fields, lname);
    return v.isEmpty() ? null : v.get(0);
  }

  private static void removeAll(List<Field> fields, String lname) {
    fields.removeIf(f -> f.lname().equals(lname));
  }

  private static List<String> tokens(List<String> values) {
    List<String> t = new ArrayList<>();
    for (String v : values) {
      for (String s : v.split(",")) {
        String x = s.trim().toLowerCase(Locale.ROOT);
        if (!x.isEmpty()) {
          t.add(x);
        }
      }
    }
    return t;
  }

  /** Percent-decodes once (UTF-8; {@code +} is a space in queries); null for a broken escape. */
  static String decodeOrNull(String s, boolean plusIsSpace) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length()) {
          return null;
        }
        int hi = hex(s.charAt(i + 1));
        int lo = hex(s.charAt(i + 2));
        if (hi < 0 || lo < 0) {
          return null;
        }
        out.write(hi << 4 | lo);
        i += 2;
      } else if (c == '+' && plusIsSpace) {
        out.write(' ');
      } else {
        out.write(c);
      }
    }
    byte[] bytes = out.toByteArray();
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }
}
