package io.herd.vm.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest as OCI writes it, {@code sha256:<64 hex>} or {@code sha512:<128 hex>}. Parsing
 * is strict because a digest becomes a file name ({@code blobs/sha256/<hex>}): nothing but
 * lower-case hex of the right length can get through. Immutable.
 */
record BlobDigest(String algorithm, String hex) {

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern SHA512 = Pattern.compile("[0-9a-f]{128}");

  /** The digest {@code text}, or empty when it is not a well-formed sha256/sha512 digest. */
  static java.util.Optional<BlobDigest> parse(String text) {
    if (text == null) {
      return java.util.Optional.empty();
    }
    int colon = text.indexOf(':');
    if (colon < 0) {
      return java.util.Optional.empty();
    }
    String algorithm = text.substring(0, colon);
    String hex = text.substring(colon + 1);
    boolean ok =
        (algorithm.equals("sha256") && SHA256.matcher(hex).matches())
            || (algorithm.equals("sha512") && SHA512.matcher(hex).matches());
    return ok ? java.util.Optional.of(new BlobDigest(algorithm, hex)) : java.util.Optional.empty();
  }

  /** The sha256 digest of {@code bytes}. */
  static BlobDigest sha256Of(byte[] bytes) {
    return new BlobDigest("sha256", HexFormat.of().formatHex(sha256().digest(bytes)));
  }

  /** Where an OCI layout keeps this blob: {@code blobs/<algorithm>/<hex>}. */
  String blobPath() {
    return "blobs/" + algorithm + "/" + hex;
  }

  MessageDigest newMessageDigest() {
    try {
      return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + algorithm, e);
    }
  }

  /** Whether {@code computed} (the bytes of a finished digest) is this digest. */
  boolean matches(byte[] computed) {
    return HexFormat.of().formatHex(computed).equals(hex);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return algorithm + ":" + hex;
  }
}
