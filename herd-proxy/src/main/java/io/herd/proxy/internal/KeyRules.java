package io.herd.proxy.internal;

import io.herd.proxy.SessionKeyRule;
import io.herd.proxy.SessionKeys;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The built-in {@link SessionKeyRule}s and their parser. Stateless records, thread-safe.
 *
 * <p>The built-in rules are strict about the front door: a request that carries the key twice
 * with different values (two headers, two cookies, two parameters) names two sessions and is
 * refused; identical duplicates are collapsed in the request before it is forwarded, so the
 * worker sees the key exactly once. Keys in a path segment or query parameter are
 * percent-decoded exactly once ({@link SessionKeys#decode}); header and cookie values are taken as
 * they are.
 */
public final class KeyRules {

  private static final String EXPECTED =
      "expected: header:NAME, cookie:NAME, query:NAME, path:N or path:N:strip";

  private KeyRules() {}

  /** A rule that reports duplicates and collapses them itself. */
  interface Locating extends SessionKeyRule {
    /**
     * Finds the key; with {@code collapse}, a key the request carries more than once with one
     * value is left there once.
     */
    KeyLookup lookup(HttpRequest request, boolean collapse);

    @Override
    default String extract(HttpRequest request) {
      return lookup(request, false).key();
    }

    /** Finds the key; when the request carries it more than once with one value, leaves one. */
    default KeyLookup locate(HttpRequest request) {
      return lookup(request, true);
    }
  }

  /** See {@link SessionKeyRule#parse(String)}. */
  public static SessionKeyRule parse(String spec) {
    if (spec == null) {
      throw new IllegalArgumentException("session.key is missing: null (" + EXPECTED + ")");
    }
    int colon = spec.indexOf(':');
    String kind = colon < 0 ? spec : spec.substring(0, colon);
    String arg = colon < 0 ? "" : spec.substring(colon + 1);
    try {
      switch (kind) {
        case "header":
          return new Header(arg);
        case "cookie":
          return new Cookie(arg);
        case "query":
          return new Query(arg);
        case "path": {
          boolean strip = arg.endsWith(":strip");
          String n = strip ? arg.substring(0, arg.length() - ":strip".length()) : arg;
          return new PathSegment(Integer.parseInt(n), strip);
        }
        default:
          throw new IllegalArgumentException("unknown kind");
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("session.key is invalid: " + spec + " (" + EXPECTED + ")", e);
    }
  }

  /**
   * Looks for {@code rule}'s key in {@code request}: built-in rules check duplicates (and collapse
   * identical ones in place); any other rule's {@code extract} is asked once.
   */
  public static KeyLookup locate(SessionKeyRule rule, HttpRequest request) {
    if (rule instanceof Locating locating) {
      return locating.locate(request);
    }
    String key;
    try {
      key = rule.extract(request);
    } catch (RuntimeException e) {
      return KeyLookup.invalid("the session key could not be read (" + rule.describe() + ")");
    }
    return key == null ? KeyLookup.missing() : KeyLookup.found(key);
  }

  /** The header name of a {@code header:} rule, if {@code rule} is one. */
  static Optional<String> headerName(SessionKeyRule rule) {
    return rule instanceof Header h ? Optional.of(h.name()) : Optional.empty();
  }

  /**
   * Makes {@code name=value} the request's one cookie of that name, the client's other cookies
   * kept in order, in one {@code Cookie} header: the worker of a session the gateway issued a key
   * for sees that key, not the expired one the client came with (which names another session).
   */
  static void replaceCookie(HttpRequest request, String name, String value) {
    HttpHeaders h = request.headers();
    List<String> kept = new ArrayList<>();
    for (String header : h.getAll(HttpHeaderNames.COOKIE)) {
      for (String part : header.split(";")) {
        String pair = part.trim();
        int eq = pair.indexOf('=');
        if (!pair.isEmpty() && !(eq > 0 && pair.substring(0, eq).trim().equals(name))) {
          kept.add(pair);
        }
      }
    }
    kept.add(name + "=" + value);
    h.set(HttpHeaderNames.COOKIE, String.join("; ", kept));
  }

  private static String requireToken(String name) {
    if (name == null || !name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
      throw new IllegalArgumentException("not a token: " + name);
    }
    return name;
  }

  /** The one key among {@code values}; {@code where} is {@code kind + " " + name}, built only for a conflict. */
  private static KeyLookup single(List<String> values, String kind, String name) {
    if (values.isEmpty()) {
      return KeyLookup.missing();
    }
    String first = values.get(0);
    for (String v : values) {
      if (!v.equals(first)) {
        return KeyLookup.conflict("two different session keys in " + kind + " " + name
            + " (expected: one key per request)");
      }
    }
    return KeyLookup.found(first);
  }

  /** {@code header:NAME}. */
  public record Header(String name) implements Locating {
    public Header {
      requireToken(name);
    }

    @Override
    public KeyLookup lookup(HttpRequest request, boolean collapse) {
      HttpHeaders h = request.headers();
      if (h instanceof RawHeaders raw && raw.count(name) == 1) {
        return KeyLookup.found(raw.get(name)); // the usual case, without a list of one
      }
      List<String> values = h.getAll(name);
      KeyLookup lookup = single(values, "header", name);
      if (collapse && lookup.outcome() == KeyLookup.Outcome.FOUND && values.size() > 1) {
        h.set(name, lookup.key());
      }
      return lookup;
    }

    @Override
    public String describe() {
      return "header " + name;
    }
  }

  /**
   * {@code cookie:NAME}. Every {@code Cookie} header is split at {@code ;} and every pair named
   * exactly NAME counts, so no pair a worker's cookie parser might read escapes the check. A value
   * in double quotes is taken without them; values are not percent-decoded.
   */
  public record Cookie(String name) implements Locating {
    public Cookie {
      requireToken(name);
    }

    @Override
    public KeyLookup lookup(HttpRequest request, boolean collapse) {
      HttpHeaders h = request.headers();
      List<String> headers = h.getAll(HttpHeaderNames.COOKIE);
      List<String> pairs = new ArrayList<>();
      List<String> values = new ArrayList<>();
      for (String header : headers) {
        for (String part : header.split(";")) {
          String pair = part.trim();
          if (pair.isEmpty()) {
            continue;
          }
          pairs.add(pair);
          int eq = pair.indexOf('=');
          if (eq > 0 && pair.substring(0, eq).trim().equals(name)) {
            values.add(unquote(pair.substring(eq + 1).trim()));
          }
        }
      }
      KeyLookup lookup = single(values, "cookie", name);
      if (collapse && lookup.outcome() == KeyLookup.Outcome.FOUND && values.size() > 1) {
        // One Cookie header (RFC 6265 §5.4) with the key's pair once, the others as they came.
        List<String> kept = new ArrayList<>();
        boolean keySeen = false;
        for (String pair : pairs) {
          int eq = pair.indexOf('=');
          boolean isKey = eq > 0 && pair.substring(0, eq).trim().equals(name);
          if (!isKey || !keySeen) {
            kept.add(pair);
          }
          keySeen |= isKey;
        }
        h.set(HttpHeaderNames.COOKIE, String.join("; ", kept));
      }
      return lookup;
    }

    private static String unquote(String v) {
      return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    @Override
    public String describe() {
      return "cookie " + name;
    }

    @Override
    public Optional<String> cookieName() {
      return Optional.of(name);
    }
  }

  /**
   * {@code query:NAME}. Parameters are separated by {@code &} only; names and values are decoded
   * once as HTML forms encode them ({@code +} is a space).
   */
  public record Query(String name) implements Locating {
    public Query {
      requireToken(name);
    }

    @Override
    public KeyLookup lookup(HttpRequest request, boolean collapse) {
      String uri = request.uri();
      int q = uri.indexOf('?');
      if (q < 0) {
        return KeyLookup.missing();
      }
      String[] params = uri.substring(q + 1).split("&", -1);
      List<String> values = new ArrayList<>();
      for (String param : params) {
        int eq = param.indexOf('=');
        if (!isKey(param, eq)) {
          continue;
        }
        try {
          values.add(SessionKeys.decodeQueryComponent(eq < 0 ? "" : param.substring(eq + 1)));
        } catch (IllegalArgumentException e) {
          return KeyLookup.invalid("invalid session key in query parameter " + name + ": "
              + e.getMessage());
        }
      }
      KeyLookup lookup = single(values, "query parameter", name);
      if (collapse && lookup.outcome() == KeyLookup.Outcome.FOUND && values.size() > 1) {
        StringBuilder query = new StringBuilder();
        boolean keySeen = false;
        for (String param : params) {
          boolean isKey = isKey(param, param.indexOf('='));
          if (!isKey || !keySeen) {
            query.append(query.length() == 0 ? "" : "&").append(param);
          }
          keySeen |= isKey;
        }
        request.setUri(uri.substring(0, q + 1) + query);
      }
      return lookup;
    }

    private boolean isKey(String param, int eq) {
      String raw = eq < 0 ? param : param.substring(0, eq);
      try {
        return SessionKeys.decodeQueryComponent(raw).equals(name);
      } catch (IllegalArgumentException e) {
        return false; // a name that cannot be decoded cannot be ours
      }
    }

    @Override
    public String describe() {
      return "query parameter " + name;
    }
  }

  /** {@code path:N[:strip]}: segment N of the path, 0-based, percent-decoded once. */
  public record PathSegment(int index, boolean strip) implements Locating {
    public PathSegment {
      if (index < 0) {
        throw new IllegalArgumentException("negative path segment: " + index);
      }
    }

    @Override
    public KeyLookup lookup(HttpRequest request, boolean collapse) {
      // A path has one segment at an index: there is never a duplicate to collapse.
      String path = pathOf(request.uri());
      int[] span = span(path);
      if (span == null) {
        return KeyLookup.missing();
      }
      try {
        return KeyLookup.found(SessionKeys.decode(path.substring(span[0], span[1])));
      } catch (IllegalArgumentException e) {
        return KeyLookup.invalid("invalid session key in path segment " + index + ": " + e.getMessage());
      }
    }

    @Override
    public String forwardUri(String uri) {
      if (!strip) {
        return uri;
      }
      String path = pathOf(uri);
      int[] span = span(path);
      if (span == null) {
        return uri;
      }
      // Remove "/segment"; what is left keeps its own leading slash, or becomes "/".
      String rest = path.substring(0, span[0] - 1) + path.substring(span[1]);
      if (rest.isEmpty()) {
        rest = "/";
      }
      return rest + uri.substring(path.length());
    }

    private int[] span(String path) {
      return segmentSpan(path, index);
    }

    @Override
    public String describe() {
      return "path segment " + index;
    }
  }

  /** A function supplied by the application. */
  public record Custom(String description, Function<HttpRequest, String> function)
      implements SessionKeyRule {
    public Custom {
      Objects.requireNonNull(description, "description");
      Objects.requireNonNull(function, "function");
    }

    @Override
    public String extract(HttpRequest request) {
      return function.apply(request);
    }

    @Override
    public String describe() {
      return description;
    }
  }

  /** {@code uri} without its query and fragment. */
  static String pathOf(String uri) {
    int q = uri.indexOf('?');
    int h = uri.indexOf('#');
    int end = q < 0 ? (h < 0 ? uri.length() : h) : (h < 0 ? q : Math.min(q, h));
    return uri.substring(0, end);
  }

  /**
   * [start, end) of segment {@code index} (0-based) in {@code path} as it is written, or null
   * when it has no such segment or it is empty. Shared by the path key rule and the DevTools
   * link rewriter, which must find the key where the rule found it.
   */
  static int[] segmentSpan(String path, int index) {
    if (!path.startsWith("/")) {
      return null;
    }
    int start = 1;
    for (int i = 0; i < index; i++) {
      int slash = path.indexOf('/', start);
      if (slash < 0) {
        return null;
      }
      start = slash + 1;
    }
    int end = path.indexOf('/', start);
    if (end < 0) {
      end = path.length();
    }
    return end > start ? new int[] {start, end} : null;
  }
}
