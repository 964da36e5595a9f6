package io.herd.server.admin;

import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterStatus;
import io.herd.cluster.HerdCluster;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the admin API reads of this gateway's cluster membership: its state and nodes, its
 * counters, and the owner of a session key. Immutable; the functions are called on the admin event
 * loop and must be thread-safe and non-blocking (a {@link HerdCluster} answers from its caches).
 *
 * @param status the state, this node's name and the nodes it knows
 * @param counters claims, conflicts, forwarded requests, lease losses, sessions lost
 * @param owner the node that owns a session key, as far as this gateway knows
 */
public record ClusterView(
    Supplier<ClusterStatus> status,
    Supplier<ClusterCounters> counters,
    Function<String, Optional<String>> owner) {

  public ClusterView {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(counters, "counters");
    Objects.requireNonNull(owner, "owner");
  }

  /** The view of {@code cluster}. */
  public static ClusterView of(HerdCluster cluster) {
    return new ClusterView(cluster::status, cluster::counters, cluster::owner);
  }
}
