package io.herd.server.metrics;

import java.time.Duration;

/**
 * The one fixed set of histogram buckets of every latency the gateway publishes (requests,
 * acquires, spawns): 1ms to 30s, eleven upper bounds plus {@code +Inf}. A percentile histogram
 * would publish 70-odd buckets per series, which multiplied by status, method and pool makes a
 * scrape large and a Prometheus expensive; these bounds are where this gateway's latencies are
 * told apart: a pinned request (1-10ms), a proxied request (10-250ms), a new session with a
 * worker start (0.25-5s) and timeouts (10-30s). Stateless.
 */
public final class LatencyBuckets {

  /** The upper bounds, in order. */
  public static final Duration[] BOUNDS = {
    Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)
  };

  private LatencyBuckets() {}
}
