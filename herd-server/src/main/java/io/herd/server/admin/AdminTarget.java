package io.herd.server.admin;

import io.herd.core.SessionPool;
import io.herd.core.process.WorkerOutput;
import io.herd.server.reload.ReloadOutcome;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the admin API reports on and acts upon. Immutable; the suppliers are called from the admin
 * event loop and must be thread-safe and non-blocking.
 *
 * @param pool the pool: figures, sessions, workers, ending sessions
 * @param scrape the Prometheus text of every meter
 * @param gateway facts about the gateway for {@code /status} (listen address, connections)
 * @param draining whether the server is shutting down ({@code /health} then answers 503)
 * @param ids how sessions are named in answers: never by a full signed key
 * @param cluster this gateway's cluster membership, when it is in one
 * @param outputs the recent output of a live worker by id, for {@code /sessions/{id}/logs}; empty
 *     for a worker that keeps none
 * @param spawns whether the pool's recent spawns failed ({@code /health/ready}); listens to
 *     {@code pool}
 * @param pools every pool by name, in the order configured ({@code pool} is the first): the
 *     admin API's {@code /pools} views, and what {@code /workers} and {@code /sessions} list
 * @param reload re-reads and applies the configuration file ({@code POST /reload}); empty when
 *     there is no file (the built-in demo)
 */
public record AdminTarget(
    SessionPool pool,
    Supplier<String> scrape,
    Supplier<Map<String, Object>> gateway,
    BooleanSupplier draining,
    SessionIds ids,
    Optional<ClusterView> cluster,
    Function<String, Optional<WorkerOutput>> outputs,
    SpawnHealth spawns,
    Map<String, SessionPool> pools,
    Optional<Supplier<CompletableFuture<ReloadOutcome>>> reload) {

  public AdminTarget {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(scrape, "scrape");
    Objects.requireNonNull(gateway, "gateway");
    Objects.requireNonNull(draining, "draining");
    Objects.requireNonNull(ids, "ids");
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(outputs, "outputs");
    Objects.requireNonNull(spawns, "spawns");
    Objects.requireNonNull(reload, "reload");
    pools = pools == null || pools.isEmpty() ? Map.of(pool.config().name(), pool)
        : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(pools));
  }

  /** A target of a gateway with one pool and no configuration file to reload. */
  public AdminTarget(SessionPool pool, Supplier<String> scrape,
      Supplier<Map<String, Object>> gateway, BooleanSupplier draining, SessionIds ids,
      Optional<ClusterView> cluster, Function<String, Optional<WorkerOutput>> outputs,
      SpawnHealth spawns) {
    this(pool, scrape, gateway, draining, ids, cluster, outputs, spawns, null, Optional.empty());
  }

  /**
   * A target whose workers keep no output, with no configuration file to reload, and whose spawn
   * health is tracked by a new {@link SpawnHealth} added to {@code pool}.
   */
  public AdminTarget(SessionPool pool, Supplier<String> scrape,
      Supplier<Map<String, Object>> gateway, BooleanSupplier draining, SessionIds ids,
      Optional<ClusterView> cluster) {
    this(pool, scrape, gateway, draining, ids, cluster, id -> Optional.empty(), watching(pool));
  }

  private static SpawnHealth watching(SessionPool pool) {
    SpawnHealth spawns = new SpawnHealth();
    pool.addListener(spawns);
    return spawns;
  }

  /** A target of a gateway that is not in a cluster. */
  public AdminTarget(SessionPool pool, Supplier<String> scrape,
      Supplier<Map<String, Object>> gateway, BooleanSupplier draining, SessionIds ids) {
    this(pool, scrape, gateway, draining, ids, Optional.empty());
  }
}
