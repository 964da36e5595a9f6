package io.herd.core.sandbox;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Sizes and counts as people read them in a log line: {@code 512 MiB} rather than {@code
 * 536870912 bytes}, {@code 1.5} cores rather than {@code 1.5000}. Binary units (KiB, MiB, GiB,
 * TiB), as {@code sandbox.memory} is written. Stateless.
 */
public final class SizeText {

  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

  private SizeText() {}

  /**
   * {@code bytes} in the largest binary unit it reaches, with at most two decimals, trailing zeros
   * dropped: {@code 512 MiB}, {@code 1.5 GiB}, {@code 100 B}.
   */
  public static String bytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("a size cannot be negative: " + bytes);
    }
    int unit = 0;
    long scale = 1;
    while (unit < UNITS.length - 1 && bytes >= scale * 1024) {
      scale *= 1024;
      unit++;
    }
    BigDecimal value = BigDecimal.valueOf(bytes)
        .divide(BigDecimal.valueOf(scale), 2, RoundingMode.HALF_UP).stripTrailingZeros();
    return value.toPlainString() + " " + UNITS[unit];
  }

  /** {@code number} without a useless fraction: {@code 2}, {@code 1.5}, {@code 0.25}. */
  public static String number(double number) {
    return BigDecimal.valueOf(number).stripTrailingZeros().toPlainString();
  }
}
