package io.herd.proxy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * What a session key is, in one place for every surface that names sessions: the gateway's key
 * rules and the admin API ({@code DELETE /sessions/{key}}) must agree, or an operator ends the
 * wrong session. A key is 1–{@value #MAX_LENGTH} visible ASCII characters (0x21–0x7E). Where a key
 * travels percent-encoded (a path segment, a query parameter) it is decoded exactly once, with
 * {@link #decode}: {@code a%252Fb} is the key {@code a%2Fb}, never {@code a/b}.
 *
 * <p>Stateless and thread-safe.
 */
public final class SessionKeys {

  /** The longest key accepted. */
  public static final int MAX_LENGTH = 256;

  /** What a valid key looks like, for error messages. */
  public static final String EXPECTED = "1-" + MAX_LENGTH + " visible ASCII characters";

  private SessionKeys() {}

  /** Whether {@code key} is 1–256 visible ASCII characters. */
  public static boolean isValid(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /**
   * Percent-decodes {@code encoded} exactly once, as a path segment ({@code +} stays {@code +}).
   * The decoded bytes must be UTF-8.
   *
   * @throws IllegalArgumentException for a {@code %} not followed by two hex digits, or bytes that
   *     are not UTF-8; the message says which
   */
  public static String decode(String encoded) {
    return decode(encoded, false);
  }

  /**
   * Percent-decodes a query parameter's name or value exactly once: as {@link #decode}, and
   * {@code +} is a space (HTML form encoding, as the workers' frameworks read it).
   */
  public static String decodeQueryComponent(String encoded) {
    return decode(encoded, true);
  }

  private static String decode(String s, boolean plusIsSpace) {
    if (s.indexOf('%') < 0 && (!plusIsSpace || s.indexOf('+') < 0)) {
      return s;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
        int lo = hi >= 0 ? Character.digit(s.charAt(i + 2), 16) : -1;
        if (lo < 0) {
          throw new IllegalArgumentException("broken percent-escape at position " + i
              + " (expected: % and two hex digits)");
        }
        bytes.write(hi << 4 | lo);
        i += 2;
      } else if (c == '+' && plusIsSpace) {
        bytes.write(' ');
      } else if (c < 0x80) {
        bytes.write(c);
      } else {
        byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(utf8, 0, utf8.length);
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("percent-escapes that are not UTF-8", e);
    }
  }
}
