package io.herd.server.config;

import java.util.Locale;
import java.util.Objects;

/**
 * A web origin — scheme, host and port — as browsers send it in the {@code Origin} header: {@code
 * http://127.0.0.1:9090}, {@code https://herd.internal}. Two origins are equal when a browser
 * would consider them the same: case-insensitive scheme and host, and the default port (80 for
 * {@code http}, 443 for {@code https}) the same whether written or not.
 *
 * <p>Immutable and thread-safe.
 *
 * @param scheme {@code http} or {@code https}
 * @param host the host in lower case, IPv6 literals without brackets
 * @param port the effective port: the scheme's default when none was written
 */
public record WebOrigin(String scheme, String host, int port) {

  /** What an origin may be, for messages. */
  public static final String EXPECTED =
      "scheme://host[:port] with scheme http or https and no path, e.g. https://herd.internal";

  public WebOrigin {
    Objects.requireNonNull(scheme, "scheme");
    Objects.requireNonNull(host, "host");
  }

  /**
   * Parses an origin as a browser serializes it.
   *
   * @throws IllegalArgumentException for anything else, including {@code null} (the opaque origin
   *     of sandboxed frames and files) and URLs with a path
   */
  public static WebOrigin parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("no origin");
    }
    int sep = text.indexOf("://");
    if (sep < 0) {
      throw new IllegalArgumentException("not an origin: " + text);
    }
    String scheme = text.substring(0, sep).toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("not an http(s) origin: " + text);
    }
    String rest = text.substring(sep + 3);
    if (rest.isEmpty() || rest.indexOf('/') >= 0 || rest.indexOf('?') >= 0
        || rest.indexOf('#') >= 0 || rest.indexOf('@') >= 0) {
      throw new IllegalArgumentException("an origin has no path, query or user: " + text);
    }
    return of(scheme, HttpAuthority.parse(rest));
  }

  /** The origin of a page at {@code authority} over {@code scheme}. */
  public static WebOrigin of(String scheme, HttpAuthority authority) {
    int port = authority.port() >= 0 ? authority.port() : defaultPort(scheme);
    return new WebOrigin(scheme.toLowerCase(Locale.ROOT), authority.host(), port);
  }

  private static int defaultPort(String scheme) {
    return scheme.equalsIgnoreCase("https") ? 443 : 80;
  }

  @Override
  public String toString() {
    String host = this.host.contains(":") ? "[" + this.host + "]" : this.host;
    return scheme + "://" + host + (port == defaultPort(scheme) ? "" : ":" + port);
  }
}
