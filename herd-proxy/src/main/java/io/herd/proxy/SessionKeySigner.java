package io.herd.proxy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks session keys of the form {@code <id>.<signature>}, where the signature is the
 * unpadded base64url HMAC-SHA256 of {@code id} under a secret. Sticky routing hands a session to
 * whoever knows its key, so with a secret configured a client cannot reach a session it was not
 * given, however it guesses ids.
 *
 * <p>Immutable and thread-safe: each call makes its own {@link Mac}, so no state is shared
 * between event loops. Applications that mint keys themselves use the same class and secret.
 */
public final class SessionKeySigner {

  private static final String ALGORITHM = "HmacSHA256";
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec secret;

  /** A signer for {@code secret} (at least 16 bytes; copied). */
  public SessionKeySigner(byte[] secret) {
    if (secret == null || secret.length < 16) {
      throw new IllegalArgumentException("session.secret is too short: "
          + (secret == null ? 0 : secret.length) + " bytes (expected: >= 16 bytes)");
    }
    this.secret = new SecretKeySpec(secret.clone(), ALGORITHM);
  }

  /** {@code id + "." + signature(id)}. */
  public String sign(String id) {
    return id + "." + signature(id);
  }

  /** A fresh key: 128 random bits as the id, signed. */
  public String newKey() {
    byte[] id = new byte[16];
    RANDOM.nextBytes(id);
    return sign(BASE64URL.encodeToString(id));
  }

  /**
   * Whether {@code key} is {@code <id>.<signature>} with a valid signature. The comparison takes
   * the same time wherever the first difference is, so timing reveals nothing of the signature.
   */
  public boolean verify(String key) {
    int dot = key.lastIndexOf('.');
    if (dot <= 0 || dot == key.length() - 1) {
      return false;
    }
    byte[] expected = signature(key.substring(0, dot)).getBytes(StandardCharsets.US_ASCII);
    byte[] actual = key.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(expected, actual);
  }

  private String signature(String id) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(secret);
      return BASE64URL.encodeToString(mac.doFinal(id.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
