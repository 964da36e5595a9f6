package io.herd.proxy;

import java.util.Comparator;
import java.util.Locale;
import java.util.Objects;

/**
 * Which requests one pool of a gateway serves: by {@code Host} (exact, or {@code *.suffix} for
 * any subdomain of the suffix), by path prefix (whole segments: {@code /api} matches {@code /api}
 * and {@code /api/x}, not {@code /apix}), or both. A match with neither serves every request.
 *
 * <p>Several matches may accept one request; the most specific wins ({@link #SPECIFICITY}): a
 * host beats no host, an exact host beats a wildcard, a longer wildcard beats a shorter one, then
 * a longer path prefix beats a shorter one. With {@link #stripPrefix} the pool's workers see the
 * path without the prefix, and a {@code path:N} session key counts segments after it.
 *
 * <p>Immutable; {@link #matches} allocates nothing, as it runs once per request.
 *
 * @param host an exact host name or {@code *.suffix}, lower case, without port; null for any
 * @param pathPrefix a path starting with {@code /}, without trailing {@code /}; null for any
 * @param stripPrefix whether the prefix is removed before the request reaches the pool
 */
public record PoolMatch(String host, String pathPrefix, boolean stripPrefix) {

  /** Serves every request. */
  public static final PoolMatch ANY = new PoolMatch(null, null, false);

  /** Most specific first: host (exact, then longer wildcard), then longer path prefix. */
  public static final Comparator<PoolMatch> SPECIFICITY =
      Comparator.comparingInt(PoolMatch::hostRank).reversed()
          .thenComparing(Comparator.comparingInt(PoolMatch::prefixLength).reversed());

  public PoolMatch {
    if (host != null) {
      host = host.toLowerCase(Locale.ROOT);
      String name = host.startsWith("*.") ? host.substring(2) : host;
      if (name.isEmpty() || name.contains("*") || name.contains(":") || name.contains("/")) {
        throw new IllegalArgumentException("match.host is invalid: " + host
            + " (expected: a host name without port, or *.suffix)");
      }
    }
    if (pathPrefix != null) {
      if (!pathPrefix.startsWith("/") || pathPrefix.contains("?") || pathPrefix.contains("#")) {
        throw new IllegalArgumentException("match.pathPrefix is invalid: " + pathPrefix
            + " (expected: a path starting with /, e.g. /api)");
      }
      while (pathPrefix.length() > 1 && pathPrefix.endsWith("/")) {
        pathPrefix = pathPrefix.substring(0, pathPrefix.length() - 1);
      }
      if (pathPrefix.equals("/")) {
        pathPrefix = null; // "/" is every path
      }
    }
    if (stripPrefix && pathPrefix == null) {
      throw new IllegalArgumentException("match.stripPrefix needs a pathPrefix: true"
          + " (expected: match.pathPrefix set, or stripPrefix: false)");
    }
  }

  /** Whether this matches every request. */
  public boolean matchesAll() {
    return host == null && pathPrefix == null;
  }

  /**
   * Whether a request with this {@code Host} value (may carry a port; null when absent) and
   * origin-form target {@code uri} belongs to this pool.
   */
  public boolean matches(String hostHeader, String uri) {
    return hostMatches(hostHeader) && pathMatches(uri);
  }

  private boolean hostMatches(String value) {
    if (host == null) {
      return true;
    }
    if (value == null) {
      return false;
    }
    int end = hostEnd(value);
    if (host.startsWith("*.")) {
      int suffix = host.length() - 1; // ".example.com"
      return end > suffix
          && value.regionMatches(true, end - suffix, host, 1, suffix);
    }
    return end == host.length() && value.regionMatches(true, 0, host, 0, end);
  }

  /** Where the host name in a Host value ends: before {@code :port}, IPv6 brackets kept. */
  private static int hostEnd(String value) {
    int end = value.length();
    if (end > 0 && value.charAt(end - 1) == '.') {
      end--; // a fully qualified name: example.com.
    }
    int colon = value.lastIndexOf(':');
    int bracket = value.lastIndexOf(']');
    if (colon > bracket) {
      end = colon;
      if (end > 0 && value.charAt(end - 1) == '.') {
        end--;
      }
    }
    return end;
  }

  private boolean pathMatches(String uri) {
    if (pathPrefix == null) {
      return true;
    }
    int n = pathPrefix.length();
    if (!uri.startsWith(pathPrefix)) {
      return false;
    }
    if (uri.length() == n) {
      return true;
    }
    char next = uri.charAt(n);
    return next == '/' || next == '?';
  }

  /**
   * The target the pool sees: {@code uri} without the prefix when {@link #stripPrefix} (an empty
   * path becomes {@code /}), else {@code uri} itself. Only called for a matching {@code uri}.
   */
  public String forward(String uri) {
    if (!stripPrefix) {
      return uri;
    }
    String rest = uri.substring(pathPrefix.length());
    return rest.isEmpty() || rest.charAt(0) != '/' ? "/" + rest : rest;
  }

  private int hostRank() {
    if (host == null) {
      return 0;
    }
    return host.startsWith("*.") ? host.length() : 100_000 + host.length();
  }

  private int prefixLength() {
    return pathPrefix == null ? 0 : pathPrefix.length();
  }

  /** As written in the configuration, e.g. {@code host api.example.com, pathPrefix /v1}. */
  public String describe() {
    if (matchesAll()) {
      return "every request";
    }
    StringBuilder s = new StringBuilder();
    if (host != null) {
      s.append("host ").append(host);
    }
    if (pathPrefix != null) {
      s.append(s.length() > 0 ? ", " : "").append("pathPrefix ").append(pathPrefix);
      if (stripPrefix) {
        s.append(" (stripped)");
      }
    }
    return s.toString();
  }

  /** Whether two matches accept exactly the same requests (then neither is more specific). */
  public boolean sameRequests(PoolMatch other) {
    return Objects.equals(host, other.host) && Objects.equals(pathPrefix, other.pathPrefix);
  }
}
