package io.herd.cluster;

import java.util.List;
import java.util.Objects;

/**
 * A snapshot of this gateway's membership: its state, its node name, and every gateway it knows to
 * be in the cluster (itself included while it holds a lease), sorted by node name.
 */
public record ClusterStatus(ClusterState state, String node, List<ClusterNode> nodes) {

  public ClusterStatus {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(node, "node");
    nodes = List.copyOf(nodes);
  }
}
