package io.herd.proxy.internal;

/**
 * RFC 9110 §5.6.2 {@code tchar}: what a method or a field name may hold. One table for the
 * request and the response head scanners and the header edits, so that what the gateway accepts
 * as a name is the same everywhere.
 */
final class HttpTokens {

  private static final boolean[] TCHAR = new boolean[128];

  static {
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
  }

  private HttpTokens() {}

  /** Whether {@code c} (a char, or a byte read signed) is a tchar. */
  static boolean isTchar(int c) {
    return c >= 0 && c < 128 && TCHAR[c];
  }
}
