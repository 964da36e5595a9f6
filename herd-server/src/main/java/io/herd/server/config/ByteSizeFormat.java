package io.herd.server.config;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one size syntax of every size in configuration files ({@code sandbox.memory}, {@code
 * proxy.maxChunkSize}, ...): a number and an optional unit, case-insensitive.
 *
 * <table>
 *   <caption>Sizes</caption>
 *   <tr><th>Written</th><th>Means</th></tr>
 *   <tr><td>{@code 16384}, {@code 512B}</td><td>bytes</td></tr>
 *   <tr><td>{@code 64k}, {@code 512m}, {@code 2g}, {@code 1t}</td><td>binary: KiB, MiB, GiB,
 *       TiB, as Docker and {@code java -Xmx} read them</td></tr>
 *   <tr><td>{@code 64KiB}, {@code 512MiB}, {@code 1.5GiB} (also {@code Ki}, {@code Mi},
 *       {@code Gi}, {@code Ti}, as Kubernetes writes them)</td><td>binary</td></tr>
 *   <tr><td>{@code 64KB}, {@code 500MB}, {@code 2GB}, {@code 1TB}</td><td>decimal: 1000,
 *       10<sup>6</sup>, 10<sup>9</sup>, 10<sup>12</sup> bytes</td></tr>
 * </table>
 *
 * <p>A fraction ({@code 1.5GiB}) must come to a whole number of bytes; negative sizes and other
 * units are refused. Stateless.
 */
public final class ByteSizeFormat {

  /** The accepted forms, which error messages quote. */
  public static final String EXPECTED = "bytes, or a number and a unit: k, m, g, t or KiB, MiB,"
      + " GiB, TiB (binary), KB, MB, GB, TB (decimal), e.g. 16384, 512m, 64MiB, 1.5GiB";

  private static final Pattern SYNTAX = Pattern.compile("(\\d{1,19}(?:\\.\\d{1,9})?)\\s*([a-z]*)");

  private static final Map<String, Long> FACTORS = Map.ofEntries(
      Map.entry("", 1L), Map.entry("b", 1L),
      Map.entry("k", 1L << 10), Map.entry("ki", 1L << 10), Map.entry("kib", 1L << 10),
      Map.entry("m", 1L << 20), Map.entry("mi", 1L << 20), Map.entry("mib", 1L << 20),
      Map.entry("g", 1L << 30), Map.entry("gi", 1L << 30), Map.entry("gib", 1L << 30),
      Map.entry("t", 1L << 40), Map.entry("ti", 1L << 40), Map.entry("tib", 1L << 40),
      Map.entry("kb", 1_000L), Map.entry("mb", 1_000_000L), Map.entry("gb", 1_000_000_000L),
      Map.entry("tb", 1_000_000_000_000L));

  private ByteSizeFormat() {}

  /**
   * Parses {@code text} into bytes.
   *
   * @throws ValueFormatException saying what is wrong with it
   */
  public static long parse(String text) {
    String s = text == null ? "" : text.trim();
    if (s.isEmpty()) {
      throw new ValueFormatException("is empty", s);
    }
    if (s.startsWith("-")) {
      throw new ValueFormatException("is negative", s);
    }
    Matcher m = SYNTAX.matcher(s.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new ValueFormatException("is not a size", s);
    }
    Long factor = FACTORS.get(m.group(2));
    if (factor == null) {
      throw new ValueFormatException("has an unknown unit " + s.substring(m.start(2)), s);
    }
    BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(factor));
    try {
      return bytes.longValueExact();
    } catch (ArithmeticException e) {
      throw new ValueFormatException(bytes.stripTrailingZeros().scale() > 0
          ? "is not a whole number of bytes" : "is too large", s);
    }
  }

  /** A readable exact form: {@code 512MiB}, {@code 1536KiB}, {@code 1000B}. */
  public static String format(long bytes) {
    String[] units = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < units.length; i++) {
      long factor = 1L << (40 - 10 * i);
      if (bytes != 0 && bytes % factor == 0) {
        return bytes / factor + units[i];
      }
    }
    return bytes + "B";
  }
}
