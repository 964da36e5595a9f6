package io.herd.cluster.internal;

import io.herd.cluster.ClusterConfig;
import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterNode;
import io.herd.cluster.ClusterState;
import io.herd.cluster.ClusterStatus;
import io.herd.core.DaemonScheduler;
import io.herd.core.Scheduler;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionInfo;
import io.herd.core.SessionPool;
import io.herd.core.Ticker;
import io.herd.core.Worker;
import io.herd.proxy.SessionRouter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The implementation behind {@link io.herd.cluster.HerdCluster}; not an API. Wires the parts and
 * carries out a fence and a close:
 *
 * <pre>
 *   Membership (lease, renewals, fence clock) ──fenced──▶ end every session, abandon claims
 *        │ register                                     (lost keys remembered)
 *        ▼
 *   CapacityPublisher (nodes/&lt;node&gt;) ◀── pool events
 *   ClusterView (one watch over the prefix: nodes, claims, peers, lost keys)
 *   Claims (keys/&lt;key&gt; transactions, holds, release, sweep)
 *   ClusterRouter (SessionRouter) and ClusterDirectory (SessionDirectory) on top
 * </pre>
 *
 * <p>Thread-safe. Lifetime: {@link #start} joins in the background; {@link #close()} leaves.
 */
public final class ClusterMember implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ClusterMember.class);
  private static final long SWEEP_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final ClusterConfig config;
  private final String self;
  private final Etcd etcd;
  private final Scheduler scheduler;
  private final DaemonScheduler ownTimer;
  private final Membership membership;
  private final ClusterView view;
  private final CapacityPublisher publisher;
  private final Claims claims;
  private final Counters counters = new Counters();
  private final ClusterDirectory directory;
  private final KeyLayout layout;
  private final AtomicBoolean closed = new AtomicBoolean();

  // Guarded by this.
  private SessionPool pool;
  private ClusterRouter router;

  private ClusterMember(ClusterConfig config, Ticker ticker, Scheduler scheduler) {
    this.config = config;
    this.self = config.node();
    this.layout = new KeyLayout(config.prefix());
    this.ownTimer = scheduler == null ? new DaemonScheduler("herd-cluster-" + self) : null;
    this.scheduler = scheduler == null ? ownTimer : scheduler;
    this.etcd = new Etcd(config.etcd(), config.requestTimeout());
    this.membership =
        new Membership(
            self,
            config.leaseTtl(),
            config.fenceMargin(),
            etcd,
            ticker,
            this.scheduler,
            new Membership.Hooks() {
              @Override
              public java.util.concurrent.CompletableFuture<Void> register(long lease) {
                return publisher.register(lease).thenCompose(v -> view.resync());
              }

              @Override
              public void fenced(String reason) {
                onFenced();
              }
            });
    this.publisher =
        new CapacityPublisher(self, config.advertise(), layout, etcd, membership, this.scheduler);
    this.view = new ClusterView(self, layout, etcd, this.scheduler, publisher::seen);
    this.claims = new Claims(self, layout, etcd, membership, view, counters, publisher::free);
    this.directory = new ClusterDirectory(self, claims, view, this::endLater);
  }

  /**
   * Starts joining the cluster in the background.
   *
   * @param scheduler where timers run, or null for a daemon thread of the member's own
   */
  public static ClusterMember start(ClusterConfig config, Ticker ticker, Scheduler scheduler) {
    ClusterMember member = new ClusterMember(config, ticker, scheduler);
    log.info(
        "cluster node {} (advertise {}) joining through etcd {} under {}, lease ttl {}s, fence"
            + " margin {}ms",
        config.node(),
        config.advertise(),
        config.etcd(),
        config.prefix(),
        config.leaseTtl().toSeconds(),
        config.fenceMargin().toMillis());
    member.membership.start();
    member.scheduleSweep();
    return member;
  }

  public SessionDirectory directory() {
    return directory;
  }

  /** The router for {@code sessionPool}; one pool per member. */
  public synchronized SessionRouter router(SessionPool sessionPool) {
    if (pool != null) {
      if (pool != sessionPool) {
        throw new IllegalStateException(
            "this cluster member already routes for another pool; use one HerdCluster per pool");
      }
      return router;
    }
    pool = sessionPool;
    router = new ClusterRouter(self, sessionPool, membership, claims, view, etcd, layout, counters);
    sessionPool.addListener(directory);
    publisher.attach(sessionPool);
    return router;
  }

  public ClusterStatus status() {
    ClusterState state =
        switch (membership.phase()) {
          case CONNECTED -> ClusterState.CONNECTED;
          case STARTING, DEGRADED -> ClusterState.DEGRADED;
          case FENCED, CLOSED -> ClusterState.FENCED;
        };
    long lease = membership.lease();
    List<ClusterNode> nodes = new ArrayList<>();
    boolean selfListed = false;
    for (NodeRecord r : view.nodes()) {
      boolean isSelf = r.node().equals(self);
      if (isSelf) {
        if (lease == 0) {
          continue; // a record of a lease given up, until etcd drops it
        }
        selfListed = true;
        nodes.add(
            new ClusterNode(self, config.advertise(), publisher.free(), publisher.max(), true));
      } else {
        nodes.add(new ClusterNode(r.node(), r.advertise(), r.free(), r.max(), false));
      }
    }
    if (!selfListed && lease != 0) {
      nodes.add(new ClusterNode(self, config.advertise(), publisher.free(), publisher.max(), true));
      nodes.sort((a, b) -> a.node().compareTo(b.node()));
    }
    return new ClusterStatus(state, self, nodes);
  }

  public Optional<String> owner(String key) {
    if (claims.live(key) != null) {
      return Optional.of(self);
    }
    return view.owner(key);
  }

  public ClusterCounters counters() {
    return counters.snapshot();
  }

  /**
   * Leaves: stops serving, ends what sessions remain (the pool should have been closed first),
   * marks this node as leaving and revokes its lease, so its claims vanish at once. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    long lease = membership.close();
    SessionPool p;
    synchronized (this) {
      p = pool;
    }
    if (p != null) {
      List<SessionInfo> remaining = p.sessions();
      // Killed, as by the fence: the lease is revoked just below, and a peer may claim these keys
      // at once, so their workers must not linger in a graceful stop.
      List<Worker> running = directory.sessionWorkers();
      if (!remaining.isEmpty() || !running.isEmpty()) {
        log.warn(
            "cluster node {} leaves with {} live session(s); ending them and killing their"
                + " workers (close the pool before the cluster)",
            self,
            remaining.size());
        remaining.forEach(s -> p.end(s.key()));
        running.forEach(Worker::kill);
      }
    }
    publisher.detach();
    if (p != null) {
      p.removeListener(directory);
    }
    claims.abandonAll();
    if (lease != 0) {
      await(publisher.leave(lease), "mark node leaving");
      await(etcd.revoke(lease), "revoke lease");
    }
    view.close();
    if (ownTimer != null) {
      ownTimer.shutdown();
    }
    etcd.close();
    log.info("cluster node {} left", self);
  }

  // ---------------------------------------------------------------- fence

  private void onFenced() {
    counters.leaseLosses.increment();
    Set<String> keys = new LinkedHashSet<>(claims.abandonAll());
    SessionPool p;
    synchronized (this) {
      p = pool;
    }
    List<SessionInfo> sessions = p == null ? List.of() : p.sessions();
    sessions.forEach(s -> keys.add(s.key()));
    view.rememberLost(keys, self);
    // Killed, not stopped gracefully: the fence margin must cover the stop, whatever
    // worker.stopTimeout says, and a fenced session is lost anyway.
    List<Worker> running = directory.sessionWorkers();
    for (SessionInfo s : sessions) {
      p.end(s.key());
    }
    running.forEach(Worker::kill);
    log.warn("cluster node {} fenced: ended {} session(s), killed their workers", self,
        sessions.size());
  }

  private void endLater(String key) {
    scheduler.schedule(
        () -> {
          SessionPool p;
          synchronized (this) {
            p = pool;
          }
          if (p != null) {
            p.end(key);
          }
        },
        0,
        TimeUnit.NANOSECONDS);
  }

  private void scheduleSweep() {
    scheduler.schedule(
        () -> {
          if (closed.get()) {
            return;
          }
          try {
            if (membership.phase() == Membership.Phase.CONNECTED) {
              claims.sweep();
            }
          } finally {
            scheduleSweep();
          }
        },
        SWEEP_NANOS,
        TimeUnit.NANOSECONDS);
  }

  private void await(Future<?> f, String what) {
    try {
      f.get(config.requestTimeout().toMillis() + 500, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("cluster node {} could not {} while leaving: {}", self, what, Etcd.describe(e));
    }
  }
}
