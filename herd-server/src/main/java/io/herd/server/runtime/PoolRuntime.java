package io.herd.server.runtime;

import io.herd.cluster.HerdCluster;
import io.herd.core.PoolListener;
import io.herd.core.SessionPool;
import io.herd.proxy.GatewayRoute;
import io.herd.proxy.SessionRouter;
import io.herd.server.admin.SessionIds;
import io.herd.server.config.PoolSpec;
import io.herd.server.metrics.PoolMetrics;
import io.herd.server.metrics.TimedSessionPool;
import io.herd.server.metrics.TimedSuspendableWorkerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Objects;

/**
 * One running pool of a gateway: how its workers are made ({@link WorkerBackend}), its pool (with the cluster's directory when
 * clustered), its meters (tagged {@code pool=<name>} when the gateway has several pools), its
 * lifecycle log, and the {@link GatewayRoute} that sends it the requests its {@code match} takes.
 * {@link HerdServer} keeps one per entry of {@code pools:} (one in the single-pool form), in the
 * order configured; the admin API, dashboard and reload iterate them.
 *
 * <p>Thread-safe: every part is. Lifetime: from {@link #start} to {@link #close}, which stops its
 * workers and then its factory; the gateway in front must have drained first.
 */
public final class PoolRuntime implements AutoCloseable {

  private final PoolSpec spec;
  private final WorkerBackend workers;
  private final SessionPool pool;
  private final SessionPool timedPool;
  private final GatewayRoute route;

  private PoolRuntime(PoolSpec spec, WorkerBackend workers, SessionPool pool,
      SessionPool timedPool, GatewayRoute route) {
    this.spec = spec;
    this.workers = workers;
    this.pool = pool;
    this.timedPool = timedPool;
    this.route = route;
  }

  /**
   * Starts the pool of {@code spec}; on failure stops what it started and rethrows.
   *
   * @param tagged whether its meters carry {@code pool=<name>} (the registry has no common tag)
   * @param cluster the cluster membership (single-pool form only), or null
   * @param first a listener that must see the pool's first events (its {@code min} workers
   *     start as it is built), such as the dashboard's
   */
  static PoolRuntime start(PoolSpec spec, MeterRegistry registry, boolean tagged,
      SessionIds ids, HerdCluster cluster, PoolListener first) {
    Objects.requireNonNull(spec, "spec");
    Tags tags = tagged ? Tags.of("pool", spec.name()) : Tags.empty();
    WorkerBackend workers = backend(spec);
    try {
      SessionPool.Builder builder = SessionPool.builder(spec.pool(),
          TimedSuspendableWorkerFactory.of(workers.factory(), registry, tags));
      if (cluster != null) {
        builder.directory(cluster.directory());
      }
      builder.listener(first);
      SessionPool pool = builder.build();
      pool.addListener(new LifecycleLog(ids));
      PoolMetrics.bind(registry, pool, tags);
      SessionPool timed = new TimedSessionPool(pool, registry, tags);
      SessionRouter router = cluster != null ? cluster.router(timed) : null;
      GatewayRoute route = new GatewayRoute(spec.name(), spec.match(), timed,
          spec.sessionKeyRule(), spec.sessionOptions(), router);
      return new PoolRuntime(spec, workers, pool, timed, route);
    } catch (RuntimeException | Error e) {
      workers.close();
      throw e;
    }
  }

  /** Programs for {@code worker.command}, microVMs for {@code worker.vm}. */
  private static WorkerBackend backend(PoolSpec spec) {
    return spec.vm().isPresent() ? VmBackend.start(spec.vm().get(), spec.worker())
        : new ProcessBackend(spec.worker());
  }

  /** The pool's name. */
  public String name() {
    return spec.name();
  }

  /** Its validated configuration. */
  public PoolSpec spec() {
    return spec;
  }

  /** The pool itself (sessions, workers, stats, ending sessions). */
  public SessionPool pool() {
    return pool;
  }

  /** The same pool with acquires timed: what the gateway and cluster router use. */
  public SessionPool timedPool() {
    return timedPool;
  }

  /** How its workers are made: programs or microVMs. */
  public WorkerBackend workers() {
    return workers;
  }

  /** How the gateway sends it requests. */
  GatewayRoute route() {
    return route;
  }

  /** Stops every worker and waits for them, then closes the factory. */
  @Override
  public void close() {
    try {
      pool.close();
    } finally {
      workers.close();
    }
  }
}
