package io.herd.benchmarks.goals;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Nearest-rank percentiles of a set of latencies in milliseconds, as the harness reports them.
 * Immutable: the values are copied and sorted once. NaN stands for a failed sample and is left
 * out (callers count failures themselves).
 */
final class Percentiles {

  private final double[] sorted;

  private Percentiles(double[] values) {
    this.sorted = Arrays.stream(values).filter(v -> !Double.isNaN(v)).sorted().toArray();
  }

  static Percentiles of(double[] millis) {
    return new Percentiles(millis);
  }

  static Percentiles of(List<Double> millis) {
    return new Percentiles(millis.stream().mapToDouble(Double::doubleValue).toArray());
  }

  int count() {
    return sorted.length;
  }

  /**
   * The smallest value with at least {@code p} percent of the values at or below it; NaN if empty.
   */
  double at(double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  }

  double max() {
    return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
  }

  static String ms(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }
}
