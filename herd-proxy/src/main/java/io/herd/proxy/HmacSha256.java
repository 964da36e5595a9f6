package io.herd.proxy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under one secret, shared by the gateway's two signers: {@link SessionKeySigner}
 * (issued session keys) and {@link HopSigner} (gateway-to-gateway hops).
 *
 * <p>Immutable and thread-safe: a {@link Mac} is stateful, so each call makes its own (about a
 * microsecond). Construction fails at once if the JDK lacks the algorithm, not per request.
 */
final class HmacSha256 {

  private static final String ALGORITHM = "HmacSHA256";

  private final SecretKeySpec key;

  HmacSha256(byte[] secret) {
    this.key = new SecretKeySpec(secret.clone(), ALGORITHM);
    sign("");
  }

  /** The MAC of {@code message}'s UTF-8 bytes. */
  byte[] sign(String message) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is not available in this JDK", e);
    }
  }

  /** Compares two MACs in constant time. */
  static boolean equal(byte[] expected, byte[] actual) {
    return MessageDigest.isEqual(expected, actual);
  }
}
