package io.herd.server.metrics;

import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterState;
import io.herd.cluster.HerdCluster;
import io.herd.proxy.CompletedExchange;
import io.herd.proxy.ExchangeListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * This gateway's cluster membership as meters: the cluster's own counters (claims, claim
 * conflicts, lease losses, sessions lost) as function counters, the number of known nodes and the
 * state (one series per state, 1 for the current one) as gauges, all read at scrape time; and,
 * as an {@link ExchangeListener}, the requests this gateway forwarded to the peer that owns their
 * session, {@code herd.cluster.forwarded.requests}, tagged with the peer's node (a bounded set:
 * the cluster's gateways).
 *
 * <p>Thread-safe: exchanges only increment Micrometer counters, which it caches per peer. Lives as
 * long as its cluster; the meters stay registered until the registry is closed.
 */
public final class ClusterMetrics implements ExchangeListener {

  private final MeterRegistry registry;

  private ClusterMetrics(MeterRegistry registry, HerdCluster cluster) {
    this.registry = registry;
    counter(registry, cluster, "herd.cluster.claims",
        "Sessions this gateway claimed in etcd, for itself or for a peer with room",
        ClusterCounters::claims);
    counter(registry, cluster, "herd.cluster.claim.conflicts",
        "Claims that found the session already owned by another gateway",
        ClusterCounters::claimConflicts);
    counter(registry, cluster, "herd.cluster.lease.losses",
        "Times this gateway fenced itself because its etcd lease could have expired",
        ClusterCounters::leaseLosses);
    counter(registry, cluster, "herd.cluster.sessions.lost",
        "Sessions started anew here after the gateway that served them died",
        ClusterCounters::sessionsLost);
    Gauge.builder("herd.cluster.nodes", cluster, c -> c.status().nodes().size())
        .description("Gateways this gateway knows in the cluster, itself included")
        .register(registry);
    for (ClusterState state : ClusterState.values()) {
      Gauge.builder("herd.cluster.state", cluster, c -> c.status().state() == state ? 1 : 0)
          .description("1 for this gateway's cluster state, 0 for the others")
          .tag("state", state.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
  }

  /** Registers the meters of {@code cluster}; give the result to the gateway as a listener. */
  public static ClusterMetrics bind(MeterRegistry registry, HerdCluster cluster) {
    return new ClusterMetrics(registry, cluster);
  }

  @Override
  public void exchangeCompleted(CompletedExchange exchange) {
    if (exchange.forwardedTo() != null) {
      Counter.builder("herd.cluster.forwarded.requests")
          .description("Requests sent on to the peer gateway that owns their session")
          .tag("peer", exchange.forwardedTo())
          .register(registry)
          .increment();
    }
  }

  private static void counter(MeterRegistry registry, HerdCluster cluster, String name,
      String description, ToDoubleFunction<ClusterCounters> value) {
    FunctionCounter.builder(name, cluster, c -> value.applyAsDouble(c.counters()))
        .description(description).register(registry);
  }
}
