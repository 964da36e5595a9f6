package io.herd.server.admin;

import io.herd.core.PoolConfig;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import io.herd.core.SessionPool;
import io.herd.core.WorkerInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * What the dashboard shows of one pool: its gauges, limits and counters, its sessions and workers
 * (with each worker's uptime and cgroup memory), and its request rate and latency. Every answer
 * carries the pool's {@code name}, and the dashboard is built from a list of these, one per pool.
 *
 * <p>Not thread-safe: {@link #snapshot} runs on the dashboard's tick thread only (it may read
 * {@code /proc} and cgroup files, so never on an event loop). Lifetime: the pool's.
 */
final class PoolView {

  private final SessionPool pool;
  private final PoolEvents events;
  private final Supplier<RequestSample> requests;
  private final RequestWindow window = new RequestWindow();

  PoolView(SessionPool pool, PoolEvents events, Supplier<RequestSample> requests) {
    this.pool = pool;
    this.events = events;
    this.requests = requests;
  }

  String name() {
    return events.pool();
  }

  /** Stops listening to the pool. */
  void detach() {
    pool.removeListener(events);
  }

  /**
   * The pool now.
   *
   * @param owner the cluster node that owns this gateway's sessions; null outside a cluster
   * @param now the wall-clock time, for worker uptimes
   * @param nowNanos a monotonic time, for the request rate
   */
  Map<String, Object> snapshot(SessionIds ids, String owner, Instant now, long nowNanos) {
    PoolStats s = pool.stats();
    PoolConfig config = pool.config();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", name());
    Map<String, Object> gauges = new LinkedHashMap<>();
    gauges.put("workers", s.workers());
    gauges.put("idle", s.idle());
    gauges.put("busy", s.busy());
    gauges.put("starting", s.starting());
    gauges.put("sessions", s.sessions());
    gauges.put("suspended", s.suspended());
    gauges.put("queued", s.queued());
    body.put("gauges", gauges);
    body.put("limits", PoolFigures.limits(config));
    body.put("counters", PoolFigures.counters(s));
    body.put("requests", window.advance(requests.get(), nowNanos));
    body.put("sessions", sessions(ids, owner));
    body.put("workers", workers(ids, now));
    return body;
  }

  private List<Map<String, Object>> sessions(SessionIds ids, String owner) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (SessionInfo s : pool.sessions()) {
      list.add(PoolFigures.session(name(), s, ids, owner));
    }
    list.sort((a, b) -> Long.compare((Long) b.get("ageMs"), (Long) a.get("ageMs")));
    return list;
  }

  private List<Map<String, Object>> workers(SessionIds ids, Instant now) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (WorkerInfo w : pool.workers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("pool", name());
      m.put("id", w.id());
      m.put("pid", w.pid().isPresent() ? w.pid().getAsLong() : null);
      m.put("state", w.state().name());
      m.put("draining", w.draining());
      m.put("session", w.sessionKey().map(ids::shown).orElse(null));
      m.put("sessionsServed", w.sessionsServed());
      m.put("uptimeMs", uptime(w.pid(), now).map(Duration::toMillis).orElse(null));
      OptionalLong memory = events.memoryBytes(w.id());
      m.put("memoryBytes", memory.isPresent() ? memory.getAsLong() : null);
      list.add(m);
    }
    return list;
  }

  /** Since the process started, from the operating system; empty when it cannot tell. */
  private static Optional<Duration> uptime(OptionalLong pid, Instant now) {
    if (pid.isEmpty()) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid.getAsLong())
        .flatMap(h -> h.info().startInstant())
        .map(start -> now.isAfter(start) ? Duration.between(start, now) : Duration.ZERO);
  }
}
