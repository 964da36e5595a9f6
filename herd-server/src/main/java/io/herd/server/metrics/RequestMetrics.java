package io.herd.server.metrics;

import io.herd.proxy.CompletedExchange;
import io.herd.proxy.ExchangeListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Set;

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
    Timer.Builder timer = Timer.builder("herd.gateway.requests")
        .description("Requests answered by the gateway, from request head to last response byte");
    if (tagPool) {
      timer.tag("pool", exchange.pool() == null ? "none" : exchange.pool());
    }
    timer
        .tag("status", exchange.status() == 0 ? "none" : Integer.toString(exchange.status()))
        .tag("method", method)
        .serviceLevelObjectives(LatencyBuckets.BOUNDS)
        .register(registry)
        .record(exchange.duration());
  }
}
