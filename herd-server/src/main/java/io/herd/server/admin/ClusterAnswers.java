package io.herd.server.admin;

import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterNode;
import io.herd.cluster.ClusterState;
import io.herd.cluster.ClusterStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The admin API's answers about the cluster, as JSON-ready maps: {@code GET /cluster} in full, the
 * {@code cluster} part of {@code /status}, and what {@code /health} says in each state. Stateless.
 */
final class ClusterAnswers {

  private ClusterAnswers() {}

  /** {@code GET /cluster}: state, this node, every node with its room, the counters. */
  static Map<String, Object> cluster(ClusterView view) {
    ClusterStatus status = view.status().get();
    Map<String, Object> body = summary(status);
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (ClusterNode n : status.nodes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", n.node());
      m.put("advertise", n.advertise().toString());
      m.put("free", n.free());
      m.put("max", n.max());
      m.put("self", n.self());
      nodes.add(m);
    }
    body.put("nodes", nodes);
    body.put("counters", counters(view.counters().get()));
    return body;
  }

  /** The {@code cluster} part of {@code /status}: state, this node, how many nodes. */
  static Map<String, Object> summary(ClusterStatus status) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("state", status.state().name());
    body.put("node", status.node());
    body.put("nodeCount", status.nodes().size());
    return body;
  }

  /**
   * The {@code status} word of {@code /health} and whether it is healthy (200): a degraded
   * gateway (etcd unreachable) still serves its sessions, a fenced one serves nothing.
   */
  static Map.Entry<String, Boolean> health(ClusterState state) {
    String word = state == ClusterState.CONNECTED ? "ok" : state.name().toLowerCase(Locale.ROOT);
    return Map.entry(word, state != ClusterState.FENCED);
  }

  private static Map<String, Object> counters(ClusterCounters c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("claims", c.claims());
    m.put("claimConflicts", c.claimConflicts());
    m.put("forwarded", c.forwarded());
    m.put("leaseLosses", c.leaseLosses());
    m.put("sessionsLost", c.sessionsLost());
    return m;
  }
}
