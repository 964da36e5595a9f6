package io.herd.server.metrics;

import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The pool's figures as meters: gauges of workers by state, sessions, suspended sessions and
 * queue depth read from {@link SessionPool#stats()} at scrape time, the pool's own counters
 * (crashes, evictions, expirations, spawn failures, acquire timeouts, queue rejections,
 * suspensions, resumes) as function counters, and
 * sessions started and ended by reason counted from {@link PoolListener} events.
 *
 * <p>Thread-safe: listener calls only increment Micrometer counters. Lives as long as its pool;
 * the meters stay registered until the registry is closed.
 */
public final class PoolMetrics implements PoolListener {

  private final Counter sessionsStarted;
  private final Map<SessionEndReason, Counter> sessionsEnded = new EnumMap<>(SessionEndReason.class);

  private PoolMetrics(MeterRegistry registry, SessionPool pool, Tags tags) {
    gauge(registry, tags, pool, "herd.pool.workers", "Live and starting workers by state", "state",
        "idle", PoolStats::idle);
    gauge(registry, tags, pool, "herd.pool.workers", "Live and starting workers by state", "state",
        "busy", PoolStats::busy);
    gauge(registry, tags, pool, "herd.pool.workers", "Live and starting workers by state", "state",
        "starting", PoolStats::starting);
    gauge(registry, tags, pool, "herd.pool.sessions", "Pinned sessions", null, null,
        PoolStats::sessions);
    gauge(registry, tags, pool, "herd.sessions.suspended",
        "Sessions whose worker is saved and its process gone (pool.suspendAfter)", null, null,
        PoolStats::suspended);
    gauge(registry, tags, pool, "herd.pool.queue.depth", "Sessions waiting for a worker", null, null,
        PoolStats::queued);
    gauge(registry, tags, pool, "herd.pool.max.workers", "The pool's worker cap (pool.max)", null, null,
        s -> pool.config().max());
    counter(registry, tags, pool, "herd.pool.spawns", "Workers started successfully", PoolStats::spawns);
    counter(registry, tags, pool, "herd.pool.spawn.failures", "Spawns that failed",
        PoolStats::spawnFailures);
    counter(registry, tags, pool, "herd.pool.crashes",
        "Workers that exited on their own or failed health checks", PoolStats::crashes);
    counter(registry, tags, pool, "herd.pool.evictions", "Sessions evicted for queued ones",
        PoolStats::evictions);
    counter(registry, tags, pool, "herd.pool.expirations", "Sessions ended by ttl or maxLifetime",
        PoolStats::expirations);
    counter(registry, tags, pool, "herd.pool.acquire.timeouts", "Acquires that timed out",
        PoolStats::acquireTimeouts);
    counter(registry, tags, pool, "herd.pool.queue.rejections", "Acquires refused: queue full",
        PoolStats::queueRejections);
    counter(registry, tags, pool, "herd.sessions.suspensions",
        "Idle sessions whose worker was saved and its process ended", PoolStats::suspensions);
    counter(registry, tags, pool, "herd.sessions.resumes",
        "Suspended sessions started again from their saved state", PoolStats::resumes);
    this.sessionsStarted = Counter.builder("herd.sessions.started")
        .description("Sessions pinned to a worker").tags(tags).register(registry);
    for (SessionEndReason reason : SessionEndReason.values()) {
      sessionsEnded.put(reason, Counter.builder("herd.sessions.ended")
          .description("Sessions ended, by reason")
          .tag("reason", reason.name().toLowerCase(Locale.ROOT))
          .tags(tags)
          .register(registry));
    }
  }

  /** Registers the meters of {@code pool} and listens to it. */
  public static PoolMetrics bind(MeterRegistry registry, SessionPool pool) {
    return bind(registry, pool, Tags.empty());
  }

  /**
   * Same, every meter carrying {@code tags} too: {@code pool=<name>} in a gateway of several
   * pools, where the registry has no common pool tag.
   */
  public static PoolMetrics bind(MeterRegistry registry, SessionPool pool, Tags tags) {
    PoolMetrics metrics = new PoolMetrics(registry, pool, tags);
    pool.addListener(metrics);
    return metrics;
  }

  @Override
  public void sessionStarted(String key, Worker worker) {
    sessionsStarted.increment();
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    sessionsEnded.get(reason).increment();
  }

  private static void gauge(MeterRegistry registry, Tags tags, SessionPool pool, String name,
      String description, String tagKey, String tagValue, ToDoubleFunction<PoolStats> value) {
    Gauge.Builder<SessionPool> b = Gauge.builder(name, pool, p -> value.applyAsDouble(p.stats()))
        .description(description).tags(tags);
    if (tagKey != null) {
      b.tag(tagKey, tagValue);
    }
    b.register(registry);
  }

  private static void counter(MeterRegistry registry, Tags tags, SessionPool pool, String name,
      String description, ToDoubleFunction<PoolStats> value) {
    FunctionCounter.builder(name, pool, p -> value.applyAsDouble(p.stats()))
        .description(description).tags(tags).register(registry);
  }
}
