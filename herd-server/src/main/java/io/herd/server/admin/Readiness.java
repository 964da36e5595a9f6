package io.herd.server.admin;

import io.herd.cluster.ClusterState;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The answers of the admin API's probes, from what {@link AdminTarget} knows:
 *
 * <ul>
 *   <li>{@code /health/live}: 200 while the process serves the admin API. A liveness probe
 *       restarts the process when it fails, so it depends on nothing that a restart cannot fix.
 *   <li>{@code /health/ready}: 200 only when the gateway can serve new sessions: not shutting
 *       down, in a cluster {@code CONNECTED} (neither degraded nor fenced), and the last {@link
 *       SpawnHealth#DEFAULT_THRESHOLD} worker spawns did not all fail. 503 with the reason
 *       otherwise.
 *   <li>{@code /health}: kept for existing probes; as ready, except that a degraded cluster
 *       member is still 200 {@code "degraded"} (its existing sessions are served), as before.
 * </ul>
 *
 * Stateless.
 */
final class Readiness {

  private Readiness() {}

  /** An answer: HTTP 200 when {@code ok}, else 503, with {@code body}. */
  record Answer(boolean ok, Map<String, Object> body) {}

  /** Why the gateway cannot serve: the word {@code /health} always used, and the reason. */
  private record Problem(String word, String reason) {}

  static Answer live() {
    return new Answer(true, Map.of("status", "ok"));
  }

  /** {@code {"status":"ready"}}, or {@code {"status":"not_ready","reason":"..."}}. */
  static Answer ready(AdminTarget target) {
    Optional<Problem> problem = notServing(target);
    Optional<ClusterState> state = target.cluster().map(c -> c.status().get().state());
    if (problem.isEmpty() && state.isPresent() && state.get() == ClusterState.DEGRADED) {
      problem = Optional.of(new Problem("degraded", "degraded: etcd is unreachable; sessions"
          + " already here are served, new ones are refused until it answers"));
    }
    if (problem.isEmpty()) {
      return new Answer(true, Map.of("status", "ready"));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", "not_ready");
    body.put("reason", problem.get().reason());
    return new Answer(false, body);
  }

  /** The compatible {@code /health}: the words it always used, and now spawn failures too. */
  static Answer legacy(AdminTarget target) {
    Optional<Problem> problem = notServing(target);
    if (problem.isPresent()) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("status", problem.get().word());
      body.put("reason", problem.get().reason());
      return new Answer(false, body);
    }
    Map.Entry<String, Boolean> health = target.cluster()
        .map(c -> ClusterAnswers.health(c.status().get().state()))
        .orElse(Map.entry("ok", true));
    return new Answer(health.getValue(), Map.of("status", health.getKey()));
  }

  /** Draining, fenced, or failing spawns: what every probe but liveness reports. */
  private static Optional<Problem> notServing(AdminTarget target) {
    if (target.draining().getAsBoolean()) {
      return Optional.of(new Problem("draining", "draining: the gateway is shutting down"));
    }
    Optional<ClusterState> state = target.cluster().map(c -> c.status().get().state());
    if (state.isPresent() && state.get() == ClusterState.FENCED) {
      return Optional.of(new Problem("fenced", "fenced: this gateway's cluster lease may be"
          + " lost; it serves nothing until it rejoins"));
    }
    return target.spawns().problem().map(reason -> new Problem("not_ready", reason));
  }
}
