package io.herd.server.admin;

import io.herd.core.PoolConfig;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A pool's limits, counters and sessions as JSON objects, one shape for the admin API ({@code GET
 * /status}, {@code GET /sessions}) and the dashboard's snapshot, so the views cannot drift apart.
 * Stateless.
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
    counters.put("suspensions", s.suspensions());
    counters.put("resumes", s.resumes());
    return counters;
  }

  /**
   * One session of pool {@code pool}: its key as {@code ids} shows it, worker, pid, age, idle
   * time, open leases, owner node ({@code null} outside a cluster), and its state: {@code active},
   * or {@code suspended} (with {@code suspendedMs}, and no pid: its process has gone).
   */
  static Map<String, Object> session(String pool, SessionInfo s, SessionIds ids, String owner) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pool", pool);
    m.put("key", ids.shown(s.key()));
    m.put("workerId", s.workerId());
    m.put("pid", s.pid().isPresent() ? s.pid().getAsLong() : null);
    m.put("ageMs", s.age().toMillis());
    m.put("idleMs", s.idle().toMillis());
    m.put("openLeases", s.openLeases());
    m.put("owner", owner);
    m.put("state", s.suspended() ? "suspended" : "active");
    m.put("suspendedMs", s.suspendedFor().map(d -> d.toMillis()).orElse(null));
    return m;
  }
}
