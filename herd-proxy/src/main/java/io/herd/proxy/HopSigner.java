package io.herd.proxy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;

/**
 * Signs the requests this gateway forwards to a peer gateway, and checks the ones peers forward
 * to it, with the secret the gateways of a cluster share. Enable it with {@link
 * HerdGateway.Builder#hops(HopSigner)}.
 *
 * <p>A forwarded request carries one header, {@value #HEADER}{@code : v1 <node> <epochMillis>
 * <mac>}, where {@code mac} is the unpadded base64url HMAC-SHA256, under the secret, of
 *
 * <pre>{@code
 * "v1\n" + node + "\n" + epochMillis + "\n" + sessionKey + "\n" + method + "\n" + target
 * }</pre>
 *
 * <p>Why each part: the MAC binds the hop to one session, method and request target, so a
 * signature cannot be moved to another session or request; the timestamp bounds a replay to
 * {@link #MAX_SKEW} either side of the receiver's clock (the gateways' clocks must agree within
 * that; there is no nonce, so an exact replay inside the window is possible for whoever can read
 * gateway-to-gateway traffic); the node names the sender for logs and metrics. A valid hop lets
 * the receiver serve the session locally only (at most one hop) and trust the request's {@code
 * X-Forwarded-*} chain as a trusted proxy's.
 *
 * <p>Immutable and thread-safe; holds no resources. Comparisons of MACs take constant time.
 */
public final class HopSigner {

  /** The request header a forwarded hop carries. */
  public static final String HEADER = "X-Herd-Hop";

  /** How far a hop's timestamp may be from the receiver's clock, either way (inclusive). */
  public static final Duration MAX_SKEW = Duration.ofSeconds(30);

  /** The shortest secret accepted, in characters. */
  public static final int MIN_SECRET_LENGTH = 32;

  private static final String VERSION = "v1";
  private static final int MAC_BYTES = 32;
  private static final int MAX_NODE_LENGTH = 128;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  /** What {@link #verify} found. */
  public enum Status {
    /** Well formed, signed with this secret, within {@link #MAX_SKEW}. */
    VALID,
    /** Not {@code v1 <node> <millis> <mac>} with single spaces, or a MAC of the wrong size. */
    MALFORMED,
    /** Well formed, but not signed with this secret for this key, method and target. */
    BAD_SIGNATURE,
    /** Validly signed, but its timestamp is more than {@link #MAX_SKEW} from this clock. */
    EXPIRED
  }

  /**
   * The outcome of {@link #verify}.
   *
   * @param node the node the header names (null when malformed); authenticated only when valid
   */
  public record Verification(Status status, String node) {
    public Verification {
      Objects.requireNonNull(status, "status");
    }

    public boolean valid() {
      return status == Status.VALID;
    }
  }

  private final String node;
  private final HmacSha256 hmac;
  private final Clock clock;

  /** With the system clock. */
  public HopSigner(String node, String secret) {
    this(node, secret, Clock.systemUTC());
  }

  /**
   * @param node this gateway's node name: 1 to 128 visible ASCII characters, no spaces
   * @param secret the cluster's shared secret, at least {@value #MIN_SECRET_LENGTH} characters
   * @param clock where timestamps are read, for signing and for the skew check
   * @throws IllegalArgumentException naming the problem (never the secret's value)
   */
  public HopSigner(String node, String secret, Clock clock) {
    if (!validNode(node)) {
      throw new IllegalArgumentException("node is invalid: "
          + (node == null ? "null" : "\"" + node + "\"") + " (expected: 1-" + MAX_NODE_LENGTH
          + " visible ASCII characters without spaces)");
    }
    if (secret == null || secret.length() < MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException("secret is too short: "
          + (secret == null ? "null" : secret.length() + " characters")
          + " (expected: at least " + MIN_SECRET_LENGTH + " characters; it authenticates"
          + " gateway-to-gateway hops)");
    }
    this.node = node;
    this.hmac = new HmacSha256(secret.getBytes(StandardCharsets.UTF_8));
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** This gateway's node name, as its hops name it. */
  public String node() {
    return node;
  }

  /**
   * The {@value #HEADER} value for a request this gateway forwards now.
   *
   * @param sessionKey the session's key in the pool (the id of a signed key)
   * @param method the request method, e.g. {@code GET}
   * @param target the origin-form request target, e.g. {@code /a/b?c=d}
   */
  public String sign(String sessionKey, String method, String target) {
    String millis = Long.toString(clock.millis());
    return VERSION + " " + node + " " + millis + " "
        + ENCODER.encodeToString(mac(payload(node, millis, sessionKey, method, target)));
  }

  /**
   * Checks a received {@value #HEADER} value against the request as this gateway parsed it.
   *
   * @param header the header's value; null counts as malformed
   */
  public Verification verify(String header, String sessionKey, String method, String target) {
    if (header == null) {
      return new Verification(Status.MALFORMED, null);
    }
    String[] parts = header.split(" ", -1);
    if (parts.length != 4 || !parts[0].equals(VERSION) || !validNode(parts[1])
        || !digits(parts[2])) {
      return new Verification(Status.MALFORMED, null);
    }
    byte[] received;
    try {
      received = DECODER.decode(parts[3]);
    } catch (IllegalArgumentException notBase64) {
      return new Verification(Status.MALFORMED, null);
    }
    if (received.length != MAC_BYTES || parts[3].indexOf('=') >= 0) {
      return new Verification(Status.MALFORMED, null);
    }
    byte[] expected = mac(payload(parts[1], parts[2], sessionKey, method, target));
    if (!HmacSha256.equal(expected, received)) { // constant time
      return new Verification(Status.BAD_SIGNATURE, parts[1]);
    }
    long skew = Math.abs(clock.millis() - Long.parseLong(parts[2]));
    return new Verification(skew <= MAX_SKEW.toMillis() ? Status.VALID : Status.EXPIRED, parts[1]);
  }

  private static String payload(
      String node, String millis, String sessionKey, String method, String target) {
    return VERSION + "\n" + node + "\n" + millis + "\n" + sessionKey + "\n" + method + "\n"
        + target;
  }

  private byte[] mac(String payload) {
    return hmac.sign(payload);
  }

  private static boolean validNode(String node) {
    if (node == null || node.isEmpty() || node.length() > MAX_NODE_LENGTH) {
      return false;
    }
    for (int i = 0; i < node.length(); i++) {
      char c = node.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** 1 to 18 ASCII digits: any epoch millisecond, and never a long overflow. */
  private static boolean digits(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "HopSigner[node=" + node + "]"; // never the secret
  }
}
