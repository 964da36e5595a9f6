package io.herd.benchmarks;

import java.util.SplittableRandom;

/**
 * Which session keys a benchmark thread asks for, precomputed into an index array so that the
 * generator's cost is paid in setup, not measured. Immutable; thread-safe.
 */
public enum KeyDistribution {

  /** Every operation on the same key: all threads contend on one session. */
  SINGLE {
    @Override
    int[] sample(int keys, int length, long seed) {
      return new int[length];
    }
  },

  /** Each key equally likely. */
  UNIFORM {
    @Override
    int[] sample(int keys, int length, long seed) {
      SplittableRandom random = new SplittableRandom(seed);
      int[] out = new int[length];
      for (int i = 0; i < length; i++) {
        out[i] = random.nextInt(keys);
      }
      return out;
    }
  },

  /**
   * Zipf with exponent 1 over the key ranks: key {@code k} has weight {@code 1 / (k + 1)}. Over
   * 10,000 keys the hottest key takes about 10 % of operations and the top 100 about half, like
   * the sessions of a gateway where a few users are very active.
   */
  ZIPF {
    @Override
    int[] sample(int keys, int length, long seed) {
      double[] cdf = new double[keys];
      double sum = 0;
      for (int k = 0; k < keys; k++) {
        sum += 1.0 / (k + 1);
        cdf[k] = sum;
      }
      SplittableRandom random = new SplittableRandom(seed);
      int[] out = new int[length];
      for (int i = 0; i < length; i++) {
        double u = random.nextDouble() * sum;
        int lo = 0;
        int hi = keys - 1;
        while (lo < hi) {
          int mid = (lo + hi) >>> 1;
          if (cdf[mid] < u) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        out[i] = lo;
      }
      return out;
    }
  };

  /**
   * {@code length} key indexes in {@code [0, keys)}, reproducible from {@code seed}.
   *
   * @param length how many; a power of two lets callers wrap around with a mask
   */
  abstract int[] sample(int keys, int length, long seed);
}
