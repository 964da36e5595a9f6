package io.herd.server.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Checks {@code Authorization: Bearer <token>} headers against the admin token in constant time
 * ({@link MessageDigest#isEqual}), so response timing reveals nothing about how much of a guess
 * was right. Immutable and thread-safe.
 */
final class BearerToken {

  private static final String PREFIX = "Bearer ";

  private final byte[] expected;

  private BearerToken(byte[] expected) {
    this.expected = expected;
  }

  /** A check for {@code token}; with none, every request passes. */
  static BearerToken of(Optional<String> token) {
    return new BearerToken(token.map(t -> t.getBytes(StandardCharsets.UTF_8)).orElse(null));
  }

  boolean required() {
    return expected != null;
  }

  /** Whether {@code authorization} (the header value, maybe null) carries the token. */
  boolean accepts(String authorization) {
    if (expected == null) {
      return true;
    }
    if (authorization == null || !authorization.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
      return false;
    }
    byte[] given = authorization.substring(PREFIX.length()).trim()
        .getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given);
  }
}
