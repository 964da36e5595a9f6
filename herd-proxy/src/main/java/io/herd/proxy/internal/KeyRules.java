package io.herd.proxy.internal;

import io.herd.proxy.SessionKeyRule;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/** The built-in {@link SessionKeyRule}s and their parser. Stateless records, thread-safe. */
public final class KeyRules {

  private static final String EXPECTED =
      "expected: header:NAME, cookie:NAME, query:NAME, path:N or path:N:strip";

  private KeyRules() {}

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

  private static String requireToken(String name) {
    if (name == null || !name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
      throw new IllegalArgumentException("not a token: " + name);
    }
    return name;
  }

  /** {@code header:NAME}. */
  public record Header(String name) implements SessionKeyRule {
    public Header {
      requireToken(name);
    }

    @Override
    public String extract(HttpRequest request) {
      return request.headers().get(name);
    }

    @Override
    public String describe() {
      return "header " + name;
    }
  }

  /** {@code cookie:NAME}. */
  public record Cookie(String name) implements SessionKeyRule {
    public Cookie {
      requireToken(name);
    }

    @Override
    public String extract(HttpRequest request) {
      for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
        for (io.netty.handler.codec.http.cookie.Cookie c : ServerCookieDecoder.STRICT.decodeAll(header)) {
          if (c.name().equals(name)) {
            return c.value();
          }
        }
      }
      return null;
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

  /** {@code query:NAME}. */
  public record Query(String name) implements SessionKeyRule {
    public Query {
      requireToken(name);
    }

    @Override
    public String extract(HttpRequest request) {
      String uri = request.uri();
      if (uri.indexOf('?') < 0) {
        return null;
      }
      List<String> values = new QueryStringDecoder(uri).parameters().get(name);
      return values == null || values.isEmpty() ? null : values.get(0);
    }

    @Override
    public String describe() {
      return "query parameter " + name;
    }
  }

  /** {@code path:N[:strip]}: segment N of the path, 0-based, as it appears (not decoded). */
  public record PathSegment(int index, boolean strip) implements SessionKeyRule {
    public PathSegment {
      if (index < 0) {
        throw new IllegalArgumentException("negative path segment: " + index);
      }
    }

    @Override
    public String extract(HttpRequest request) {
      String path = pathOf(request.uri());
      int[] span = span(path);
      return span == null ? null : path.substring(span[0], span[1]);
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

    /** [start, end) of segment {@code index} in {@code path}, or null when it has no such. */
    private int[] span(String path) {
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

    private static String pathOf(String uri) {
      int q = uri.indexOf('?');
      int h = uri.indexOf('#');
      int end = q < 0 ? (h < 0 ? uri.length() : h) : (h < 0 ? q : Math.min(q, h));
      return uri.substring(0, end);
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
}
