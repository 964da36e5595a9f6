package io.herd.server.metrics;

import io.herd.proxy.CompletedExchange;
import io.herd.proxy.ExchangeListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The gateway's requests as a latency histogram, {@code herd.gateway.requests}, tagged with the
 * status sent to the client and the method. Methods outside the standard set are tagged {@code
 * OTHER} and a close before any response {@code status="none"}, so that clients cannot blow up
 * the number of series.
 *
 * <p>Thread-safe: called on the gateway's event loops; Micrometer caches the timers, so a call
 * is a map lookup and a histogram update.
 */
public final class RequestMetrics implements ExchangeListener {

  private static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE");

  private final MeterRegistry registry;
  /**
   * Whether each request carries the tag {@code pool} of the pool it was routed to ({@code none}
   * when no pool took it): in a gateway of several pools, whose registry has no common pool tag.
   */
  private final boolean tagPool;
  /**
   * The timers met so far, by their tags: building and registering a meter per request (a
   * builder, tag merging, a registry lookup) cost more than the rest of a proxied request's
   * bookkeeping. Bounded: methods are a fixed set or OTHER, statuses 100–999, pools configured.
   */
  private final Map<TimerKey, Timer> timers = new ConcurrentHashMap<>();

  public RequestMetrics(MeterRegistry registry) {
    this(registry, false);
  }

  public RequestMetrics(MeterRegistry registry, boolean tagPool) {
    this.registry = registry;
    this.tagPool = tagPool;
  }

  @Override
  public void exchangeCompleted(CompletedExchange exchange) {
    String method = METHODS.contains(exchange.method()) ? exchange.method()
        : exchange.method().equals("-") ? "none" : "OTHER";
    String pool = !tagPool ? null : exchange.pool() == null ? "none" : exchange.pool();
    TimerKey key = new TimerKey(pool, exchange.status(), method);
    Timer timer = timers.get(key);
    if (timer == null) {
      timer = timers.computeIfAbsent(key, this::register);
    }
    timer.record(exchange.duration());
  }

  private Timer register(TimerKey key) {
    Timer.Builder timer = Timer.builder("herd.gateway.requests")
        .description("Requests answered by the gateway, from request head to last response byte");
    if (key.pool() != null) {
      timer.tag("pool", key.pool());
    }
    return timer
        .tag("status", key.status() == 0 ? "none" : Integer.toString(key.status()))
        .tag("method", key.method())
        .serviceLevelObjectives(LatencyBuckets.BOUNDS)
        .register(registry);
  }

  /** The tags of one timer; {@code pool} null when requests are not tagged by pool. */
  private record TimerKey(String pool, int status, String method) {}
}
