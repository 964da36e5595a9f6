package io.herd.server.admin;

import io.herd.core.PoolStats;
import io.herd.core.SessionPool;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin API's views of a gateway's pools: {@code GET /pools} (each pool with its gauges),
 * the totals {@code /status} answers for a gateway of several pools, and the pool named by
 * {@code ?pool=} or {@code /pools/<name>/...}. Stateless.
 */
final class PoolViews {

  /** {@code /pools/<name>/status|workers|sessions}. */
  static final String PREFIX = "/pools/";

  private PoolViews() {}

  /** The value of {@code pool=} in the query of {@code uri}, or null. */
  static String queryPool(String uri) {
    int q = uri.indexOf('?');
    if (q < 0) {
      return null;
    }
    for (String param : uri.substring(q + 1).split("&")) {
      if (param.startsWith("pool=")) {
        return param.substring(5);
      }
    }
    return null;
  }

  /** {@code {"pools": [{name, workers, sessions, queued, limits}, ...]}}. */
  static Map<String, Object> list(Map<String, SessionPool> pools) {
    List<Map<String, Object>> list = new ArrayList<>();
    pools.forEach((name, pool) -> list.add(summary(name, pool)));
    return Map.of("pools", list);
  }

  /** The figures of every pool added up, with each pool's summary under {@code pools}. */
  static Map<String, Object> totals(Map<String, SessionPool> pools) {
    int total = 0;
    int idle = 0;
    int busy = 0;
    int starting = 0;
    int sessions = 0;
    int queued = 0;
    Map<String, Object> counters = new LinkedHashMap<>();
    for (SessionPool pool : pools.values()) {
      PoolStats s = pool.stats();
      counters.merge("spawns", s.spawns(), (a, b) -> (Long) a + (Long) b);
      counters.merge("spawnFailures", s.spawnFailures(), (a, b) -> (Long) a + (Long) b);
      counters.merge("crashes", s.crashes(), (a, b) -> (Long) a + (Long) b);
      counters.merge("evictions", s.evictions(), (a, b) -> (Long) a + (Long) b);
      counters.merge("expirations", s.expirations(), (a, b) -> (Long) a + (Long) b);
      total += s.workers();
      idle += s.idle();
      busy += s.busy();
      starting += s.starting();
      sessions += s.sessions();
      queued += s.queued();
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("pool", String.join(",", pools.keySet()));
    Map<String, Object> workers = new LinkedHashMap<>();
    workers.put("total", total);
    workers.put("idle", idle);
    workers.put("busy", busy);
    workers.put("starting", starting);
    body.put("workers", workers);
    body.put("sessions", sessions);
    body.put("queued", queued);
    body.put("counters", counters);
    body.put("pools", list(pools).get("pools"));
    return body;
  }

  private static Map<String, Object> summary(String name, SessionPool pool) {
    PoolStats s = pool.stats();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    Map<String, Object> workers = new LinkedHashMap<>();
    workers.put("total", s.workers());
    workers.put("idle", s.idle());
    workers.put("busy", s.busy());
    workers.put("starting", s.starting());
    m.put("workers", workers);
    m.put("sessions", s.sessions());
    m.put("queued", s.queued());
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("min", pool.config().min());
    limits.put("max", pool.config().max());
    limits.put("warm", pool.config().warm());
    limits.put("maxQueue", pool.config().maxQueue());
    m.put("limits", limits);
    m.put("spawnFailures", s.spawnFailures());
    m.put("crashes", s.crashes());
    return m;
  }
}
