package io.herd.proxy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;

/**
 * Signs and checks session keys. Sticky routing hands a session to whoever knows its key, so with
 * a secret configured a client cannot reach a session it was not given, however it guesses ids.
 * Only the id of a verified key names the session in the pool, the admin API and metrics: the
 * signed key is a credential and stays with the client.
 *
 * <p>Two formats, signatures being unpadded base64url HMAC-SHA256 under the secret:
 *
 * <ul>
 *   <li>{@code <id>.<expiry>.<signature>}, made when a key lifetime ({@code session.keyTtl}) is
 *       set: {@code expiry} is the end of validity in epoch seconds and the signature covers
 *       {@code "herd-key-v2\n" + id + "\n" + expiry}. After the expiry the key is {@link
 *       Status#EXPIRED}.
 *   <li>{@code <id>.<signature>}, the original format without an expiry, signature over {@code
 *       id}. Accepted only while no key lifetime is set; with one set, a validly signed key of this
 *       form counts as expired (it would otherwise never expire), so clients move to the new
 *       format by getting a new key.
 * </ul>
 *
 * <p>Why the two cannot be confused: the signed message of the new format contains line feeds,
 * which no id can contain ({@link #sign} refuses them), so a signature of one form never verifies
 * as the other, whichever way a key with dots is split.
 *
 * <p>Immutable and thread-safe: each call makes its own MAC instance ({@link HmacSha256}), so no
 * state is shared between event loops. Applications that mint keys themselves use the same
 * class, secret and lifetime.
 */
public final class SessionKeySigner {

  /** What {@link #check} found. */
  public enum Status {
    /** Validly signed and not expired: {@link Verification#id()} names the session. */
    VALID,
    /** Validly signed, but past its expiry (or without one while a lifetime is required). */
    EXPIRED,
    /** Not a key this secret signed. */
    INVALID
  }

  /**
   * The outcome of {@link #check}.
   *
   * @param status what was found
   * @param id the session id of a validly signed key (VALID or EXPIRED), else null
   */
  public record Verification(Status status, String id) {}

  private static final String V2_PREFIX = "herd-key-v2\n";
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_EXPIRY_DIGITS = 12;
  private static final Verification INVALID = new Verification(Status.INVALID, null);

  private final HmacSha256 hmac;
  private final Duration keyTtl;
  private final Clock clock;

  /** A signer for {@code secret} (at least 16 bytes; copied) whose keys never expire. */
  public SessionKeySigner(byte[] secret) {
    this(secret, null, Clock.systemUTC());
  }

  /**
   * A signer for {@code secret} (at least 16 bytes; copied) whose keys expire {@code keyTtl}
   * after they were signed; null for keys without expiry.
   *
   * @param clock the time keys are signed and checked at
   */
  public SessionKeySigner(byte[] secret, Duration keyTtl, Clock clock) {
    if (secret == null || secret.length < 16) {
      throw new IllegalArgumentException("session.secret is too short: "
          + (secret == null ? 0 : secret.length) + " bytes (expected: >= 16 bytes)");
    }
    if (keyTtl != null && (keyTtl.isNegative() || keyTtl.getSeconds() < 1)) {
      throw new IllegalArgumentException("session.keyTtl is too short: " + keyTtl
          + " (expected: >= 1s)");
    }
    this.hmac = new HmacSha256(secret);
    this.keyTtl = keyTtl;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * A key for session {@code id}: {@code id.expiry.signature} with a key lifetime, else {@code
   * id.signature}. The gateway accepts only keys of {@link SessionKeys#isValid valid} form, so an
   * id should be visible ASCII without being too long.
   *
   * @throws IllegalArgumentException when {@code id} contains a line feed, which would let its
   *     signature stand for a key of the other format
   */
  public String sign(String id) {
    Objects.requireNonNull(id, "id");
    if (id.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("session id contains a line feed (expected: "
          + SessionKeys.EXPECTED + ")");
    }
    if (keyTtl == null) {
      return id + "." + mac(id);
    }
    String expiry = Long.toString(clock.instant().plus(keyTtl).getEpochSecond());
    return id + "." + expiry + "." + mac(V2_PREFIX + id + "\n" + expiry);
  }

  /** A fresh key: 128 random bits as the id, signed. */
  public String newKey() {
    byte[] id = new byte[16];
    RANDOM.nextBytes(id);
    return sign(BASE64URL.encodeToString(id));
  }

  /** The key lifetime, when keys expire. */
  public java.util.Optional<Duration> keyTtl() {
    return java.util.Optional.ofNullable(keyTtl);
  }

  /** Whether {@code key} is validly signed and not expired. */
  public boolean verify(String key) {
    return check(key).status() == Status.VALID;
  }

  /**
   * Checks {@code key}'s signature and expiry. Comparisons take the same time wherever the first
   * difference is, so timing reveals nothing of a signature.
   */
  public Verification check(String key) {
    if (key == null) {
      return INVALID;
    }
    int last = key.lastIndexOf('.');
    if (last <= 0 || last == key.length() - 1) {
      return INVALID;
    }
    String signature = key.substring(last + 1);
    int middle = key.lastIndexOf('.', last - 1);
    if (middle > 0 && isExpiry(key, middle + 1, last)) {
      String id = key.substring(0, middle);
      String expiry = key.substring(middle + 1, last);
      if (matches(mac(V2_PREFIX + id + "\n" + expiry), signature)) {
        return new Verification(Long.parseLong(expiry) > clock.instant().getEpochSecond()
            ? Status.VALID : Status.EXPIRED, id);
      }
    }
    String id = key.substring(0, last);
    if (matches(mac(id), signature)) {
      return new Verification(keyTtl == null ? Status.VALID : Status.EXPIRED, id);
    }
    return INVALID;
  }

  private static boolean isExpiry(String key, int from, int to) {
    if (to - from < 1 || to - from > MAX_EXPIRY_DIGITS) {
      return false;
    }
    for (int i = from; i < to; i++) {
      char c = key.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static boolean matches(String expected, String actual) {
    return HmacSha256.equal(expected.getBytes(StandardCharsets.US_ASCII),
        actual.getBytes(StandardCharsets.US_ASCII));
  }

  private String mac(String message) {
    return BASE64URL.encodeToString(hmac.sign(message));
  }
}
