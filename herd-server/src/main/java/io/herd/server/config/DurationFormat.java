package io.herd.server.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The duration syntax of every duration in configuration files: one or more parts of a number
 * and a unit, largest unit first, each unit at most once.
 *
 * <table>
 *   <caption>Durations</caption>
 *   <tr><th>Written</th><th>Means</th></tr>
 *   <tr><td>{@code 250ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}</td><td>milliseconds,
 *       seconds, minutes, hours, days (24h)</td></tr>
 *   <tr><td>{@code 1.5s}, {@code 0.5h}</td><td>a decimal fraction: 1500ms, 30m</td></tr>
 *   <tr><td>{@code 1m30s}, {@code 1h30m}, {@code 2s500ms}</td><td>parts added up</td></tr>
 *   <tr><td>{@code 0}</td><td>zero, the one number that needs no unit</td></tr>
 * </table>
 *
 * <p>Refused, each with its own message: a bare number other than 0 ({@code ttl: 300} could mean
 * seconds or milliseconds, and guessing wrong is worse than asking), a negative duration, units
 * out of order or repeated ({@code 30s1m}), units finer than milliseconds ({@code us}, {@code
 * ns}: no timer here is that precise) and upper-case units ({@code 5M} reads as months).
 * Stateless.
 */
public final class DurationFormat {

  /** The accepted forms, which error messages quote. */
  public static final String EXPECTED = "a number and a unit ms, s, m, h or d, or several"
      + " largest first, e.g. 250ms, 1.5s, 1m30s, 2h";

  private static final List<String> UNITS = List.of("d", "h", "m", "s", "ms");
  private static final long[] NANOS = {
    86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L
  };
  private static final String PART_SYNTAX = "(\\d{1,12}(?:\\.\\d{1,9})?)([a-zA-Zµ]*)";
  private static final Pattern PART = Pattern.compile(PART_SYNTAX);
  private static final Pattern WHOLE = Pattern.compile("(?:" + PART_SYNTAX + ")+");

  private DurationFormat() {}

  /**
   * Parses {@code text}.
   *
   * @throws ValueFormatException saying what is wrong with it
   */
  public static Duration parse(String text) {
    String s = text == null ? "" : text.trim();
    if (s.isEmpty()) {
      throw new ValueFormatException("is empty", s);
    }
    if (s.startsWith("-")) {
      throw new ValueFormatException("is negative", s);
    }
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    if (!WHOLE.matcher(s).matches()) {
      throw new ValueFormatException("is not a duration", s);
    }
    Matcher m = PART.matcher(s);
    BigDecimal nanos = BigDecimal.ZERO;
    int last = -1;
    int at = 0;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        throw new ValueFormatException("is not a duration", s);
      }
      String unit = m.group(2);
      int index = UNITS.indexOf(unit);
      if (unit.isEmpty()) {
        throw new ValueFormatException("has no unit", s);
      }
      if (index < 0) {
        String lower = unit.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("us") || lower.equals("µs") || lower.equals("ns")) {
          throw new ValueFormatException("is finer than milliseconds", s);
        }
        throw new ValueFormatException(UNITS.contains(lower)
            ? "has an upper-case unit" : "has an unknown unit " + unit, s);
      }
      if (index <= last) {
        throw new ValueFormatException("has units out of order or repeated", s);
      }
      last = index;
      nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(NANOS[index])));
      at = m.end();
    }
    try {
      return Duration.ofNanos(nanos.setScale(0, RoundingMode.HALF_UP).longValueExact());
    } catch (ArithmeticException e) {
      throw new ValueFormatException("is too long", s);
    }
  }

  /**
   * The shortest exact form in this syntax, largest unit first: {@code 5m}, {@code 1m30s},
   * {@code 1s500ms}; a remainder below a millisecond as a fraction of one ({@code 0.5ms}).
   */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    long rest = d.toNanos();
    StringBuilder out = new StringBuilder(rest < 0 ? "-" : "");
    rest = Math.abs(rest);
    for (int i = 0; i < UNITS.size(); i++) {
      long n = rest / NANOS[i];
      rest -= n * NANOS[i];
      if (i == UNITS.size() - 1 && rest > 0) {
        out.append(BigDecimal.valueOf(n * NANOS[i] + rest).divide(BigDecimal.valueOf(NANOS[i]))
            .stripTrailingZeros().toPlainString()).append("ms");
      } else if (n > 0) {
        out.append(n).append(UNITS.get(i));
      }
    }
    return out.toString();
  }
}
