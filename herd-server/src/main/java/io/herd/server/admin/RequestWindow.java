package io.herd.server.admin;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Request rate and mean latency over the last interval, from two {@link RequestSample}s: each
 * {@link #advance} compares the new sample with the previous one. The time is an argument, so a
 * test drives it without a clock.
 *
 * <p>Not thread-safe: the dashboard's one tick thread owns it.
 */
final class RequestWindow {

  private RequestSample last;
  private long lastNanos;

  /**
   * The figures since the previous call: {@code total}, {@code perSecond}, {@code meanMs} (null
   * when no request completed in the interval). The first call knows no interval: rate 0.
   *
   * @param nowNanos a monotonic time, e.g. {@link System#nanoTime()}
   */
  Map<String, Object> advance(RequestSample sample, long nowNanos) {
    double perSecond = 0;
    Double meanMs = null;
    if (last != null && nowNanos > lastNanos) {
      long requests = sample.count() - last.count();
      if (requests > 0) {
        perSecond = requests * 1e9 / (nowNanos - lastNanos);
        meanMs = (sample.totalNanos() - last.totalNanos()) / 1e6 / requests;
      }
    }
    last = sample;
    lastNanos = nowNanos;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", sample.count());
    out.put("perSecond", round(perSecond));
    out.put("meanMs", meanMs == null ? null : round(meanMs));
    return out;
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
