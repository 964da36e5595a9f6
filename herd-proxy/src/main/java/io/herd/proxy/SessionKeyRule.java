package io.herd.proxy;

import io.herd.proxy.internal.KeyRules;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where a request carries its session key: a header, a cookie, a query parameter, a path segment,
 * or anything a function can compute. The gateway validates what the rule extracts ({@link
 * SessionKeys#isValid}, and the signature when a secret is set), so rules only locate the key.
 *
 * <p>The built-in rules are strict: a request carrying the key twice with different values (two
 * headers, two cookies, two query parameters) is refused with 400, identical duplicates are
 * forwarded once, and keys in a path segment or query parameter are percent-decoded exactly once
 * ({@link SessionKeys#decode}).
 *
 * <p>Implementations must be thread-safe and quick: they run on event loops for every request.
 * They may not keep the request.
 */
public interface SessionKeyRule {

  /**
   * The key the request carries, decoded where it travels percent-encoded, or {@code null} when it
   * carries none (for the built-in rules, also when it carries two different ones).
   */
  String extract(HttpRequest request);

  /** The request URI to send to the worker; rules that strip a path segment rewrite it. */
  default String forwardUri(String uri) {
    return uri;
  }

  /** What the rule expects, for error messages: {@code header X-Session-ID}. */
  String describe();

  /** The cookie the key lives in, when it does; the gateway issues new keys only there. */
  default Optional<String> cookieName() {
    return Optional.empty();
  }

  /**
   * Parses the configuration form: {@code header:NAME}, {@code cookie:NAME}, {@code query:NAME},
   * {@code path:N} or {@code path:N:strip} (N-th path segment, 0-based; {@code strip} removes it
   * before forwarding).
   *
   * @throws IllegalArgumentException saying what is wrong and what is expected
   */
  static SessionKeyRule parse(String spec) {
    return KeyRules.parse(spec);
  }

  /** The value of request header {@code name}. */
  static SessionKeyRule header(String name) {
    return new KeyRules.Header(name);
  }

  /** The value of cookie {@code name}. */
  static SessionKeyRule cookie(String name) {
    return new KeyRules.Cookie(name);
  }

  /** The value of query parameter {@code name}, decoded once ({@code +} is a space). */
  static SessionKeyRule query(String name) {
    return new KeyRules.Query(name);
  }

  /**
   * Path segment {@code index} (0-based), decoded once, removed from the forwarded URI when {@code
   * strip}.
   */
  static SessionKeyRule pathSegment(int index, boolean strip) {
    return new KeyRules.PathSegment(index, strip);
  }

  /** Anything else: {@code extract} returns the key or {@code null}. */
  static SessionKeyRule of(String description, Function<HttpRequest, String> extract) {
    return new KeyRules.Custom(description, extract);
  }
}
