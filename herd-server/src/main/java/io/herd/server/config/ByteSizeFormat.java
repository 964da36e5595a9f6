package io.herd.server.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The size syntax of configuration files: a whole number of bytes with an optional unit, binary
 * ({@code KiB}, {@code MiB}, {@code GiB}) or decimal ({@code KB}, {@code MB}, {@code GB}), e.g.
 * {@code 64MiB}, {@code 2GiB}, {@code 16384}. Stateless.
 */
public final class ByteSizeFormat {

  /** The constraint that error messages quote. */
  public static final String EXPECTED = "bytes with an optional unit B, KiB, MiB, GiB, KB, MB, GB,"
      + " e.g. 16KiB, 64MiB";

  private static final Pattern SYNTAX = Pattern.compile("(\\d{1,15})\\s*([KMG]i?B|B)?",
      Pattern.CASE_INSENSITIVE);

  private ByteSizeFormat() {}

  /**
   * Parses {@code text} into bytes.
   *
   * @throws IllegalArgumentException when it is not a size
   */
  public static long parse(String text) {
    Matcher m = SYNTAX.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a size: " + text);
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    long factor;
    switch (unit) {
      case "KIB":
        factor = 1L << 10;
        break;
      case "MIB":
        factor = 1L << 20;
        break;
      case "GIB":
        factor = 1L << 30;
        break;
      case "KB":
        factor = 1_000L;
        break;
      case "MB":
        factor = 1_000_000L;
        break;
      case "GB":
        factor = 1_000_000_000L;
        break;
      default:
        factor = 1;
    }
    return Math.multiplyExact(n, factor);
  }
}
