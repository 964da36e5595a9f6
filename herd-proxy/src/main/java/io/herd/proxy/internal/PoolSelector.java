package io.herd.proxy.internal;

import io.herd.proxy.PoolMatch;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks the pool of each request of a gateway: the first, in {@link PoolMatch#SPECIFICITY}
 * order, whose match takes the request's {@code Host} and path. A gateway of one pool that takes
 * every request answers at once.
 *
 * <p>Immutable and thread-safe; {@link #select} takes no lock and allocates nothing, as it runs
 * on the event loops once per request.
 */
public final class PoolSelector {

  private final GatewayContext[] byPriority;
  private final GatewayContext first;

  private PoolSelector(GatewayContext[] byPriority, GatewayContext first) {
    this.byPriority = byPriority;
    this.first = first;
  }

  /** Selects among {@code pools} (in the order configured; never empty). */
  public static PoolSelector of(List<GatewayContext> pools) {
    if (pools.isEmpty()) {
      throw new IllegalArgumentException("a gateway needs at least one pool");
    }
    List<GatewayContext> sorted = new ArrayList<>(pools);
    sorted.sort((a, b) -> PoolMatch.SPECIFICITY.compare(a.match, b.match)); // stable
    return new PoolSelector(sorted.toArray(GatewayContext[]::new), pools.get(0));
  }

  /** The pool for a request with this Host value (null when absent) and target; null for none. */
  GatewayContext select(String host, String uri) {
    for (GatewayContext pool : byPriority) {
      if (pool.match.matches(host, uri)) {
        return pool;
      }
    }
    return null;
  }

  /** The 404 body for a request no pool takes: what it asked for, and what is served. */
  String unmatched(String host, String uri) {
    int query = uri.indexOf('?');
    String path = query < 0 ? uri : uri.substring(0, query);
    StringBuilder s = new StringBuilder("no pool serves host ")
        .append(host == null ? "(none)" : host).append(" path ").append(path)
        .append(" (expected: a request that one of these matches: ");
    for (int i = 0; i < byPriority.length; i++) {
      s.append(i == 0 ? "" : "; ").append(byPriority[i].name).append(": ")
          .append(byPriority[i].match.describe());
    }
    return s.append(")").toString();
  }

  /** The pool configured first, whose options, clients and hops the whole gateway uses. */
  public GatewayContext first() {
    return first;
  }

  /** Every pool's context, most specific match first. */
  public List<GatewayContext> all() {
    return List.of(byPriority);
  }
}
