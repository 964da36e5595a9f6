package io.herd.server.admin;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Cumulative figures of the requests a pool answered: how many, and their summed duration. The
 * dashboard turns two samples into a rate and a mean latency ({@link RequestWindow}).
 *
 * @param count requests completed so far
 * @param totalNanos their durations summed
 */
public record RequestSample(long count, long totalNanos) {

  /** No request figures (a pool without a gateway in front of it). */
  public static final RequestSample NONE = new RequestSample(0, 0);

  /**
   * The sum over every timer named {@code timerName} in {@code registry}, whatever its tags
   * (status, method): e.g. {@code herd.gateway.requests}. Reading it is a few map lookups.
   */
  public static Supplier<RequestSample> of(MeterRegistry registry, String timerName) {
    return () -> {
      long count = 0;
      double nanos = 0;
      for (Timer t : registry.find(timerName).timers()) {
        count += t.count();
        nanos += t.totalTime(TimeUnit.NANOSECONDS);
      }
      return new RequestSample(count, (long) nanos);
    };
  }

  /**
   * The sum over every timer named {@code timerName} tagged {@code pool=<pool>}: one pool's
   * requests in a gateway of several pools.
   */
  public static Supplier<RequestSample> of(MeterRegistry registry, String timerName,
      String pool) {
    return () -> {
      long count = 0;
      double nanos = 0;
      for (Timer t : registry.find(timerName).tag("pool", pool).timers()) {
        count += t.count();
        nanos += t.totalTime(TimeUnit.NANOSECONDS);
      }
      return new RequestSample(count, (long) nanos);
    };
  }
}
