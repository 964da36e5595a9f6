package io.herd.server.admin;

import io.herd.core.PoolConfig;
import io.herd.core.PoolStats;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A pool's limits and counters as JSON objects, one shape for {@code GET /status} and the
 * dashboard's snapshot, so the two views cannot drift apart. Stateless.
 */
final class PoolFigures {

  private PoolFigures() {}

  /** {@code {min, max, warm, maxQueue}}. */
  static Map<String, Object> limits(PoolConfig config) {
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("min", config.min());
    limits.put("max", config.max());
    limits.put("warm", config.warm());
    limits.put("maxQueue", config.maxQueue());
    return limits;
  }

  /** Every counter of {@code s}, since the pool started. */
  static Map<String, Object> counters(PoolStats s) {
    Map<String, Object> counters = new LinkedHashMap<>();
    counters.put("spawns", s.spawns());
    counters.put("spawnFailures", s.spawnFailures());
    counters.put("crashes", s.crashes());
    counters.put("evictions", s.evictions());
    counters.put("expirations", s.expirations());
    counters.put("acquireTimeouts", s.acquireTimeouts());
    counters.put("queueRejections", s.queueRejections());
    return counters;
  }
}
