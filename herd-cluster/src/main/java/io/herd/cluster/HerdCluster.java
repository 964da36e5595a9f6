package io.herd.cluster;

import io.herd.cluster.internal.ClusterMember;
import io.herd.core.Scheduler;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionPool;
import io.herd.core.Ticker;
import io.herd.proxy.SessionRouter;
import java.util.Objects;
import java.util.Optional;

/**
 * This gateway's membership of a cluster of gateways that share sessions through etcd: one key, one
 * worker, cluster-wide. A session is owned by the gateway that claimed it in etcd (a
 * create-if-absent transaction on a key attached to that gateway's lease); other gateways forward
 * its requests there, at most one hop. A gateway that loses its lease fences itself — refuses every
 * request and ends its sessions — before the lease can have expired in etcd, so no key is ever
 * served by two workers. See {@code docs/cluster.md}.
 *
 * <p>Wiring (one cluster per pool):
 *
 * <pre>{@code
 * HerdCluster cluster = HerdCluster.start(config);
 * SessionPool pool =
 *     SessionPool.builder(poolConfig, factory).directory(cluster.directory()).build();
 * HerdGateway gateway = HerdGateway.builder(pool)....router(cluster.router(pool)).build();
 * ...
 * // in this order: the workers stop, then the lease goes
 * gateway.close(); pool.close(); cluster.close();
 * }</pre>
 *
 * <p>Thread-safe. Lifetime: {@link #start} joins in the background and never fails because etcd is
 * down (the gateway is {@link ClusterState#DEGRADED} and keeps trying); {@link #close()} leaves.
 */
public final class HerdCluster implements AutoCloseable {

  private final ClusterMember member;

  private HerdCluster(ClusterMember member) {
    this.member = member;
  }

  /**
   * Joins the cluster in the background, with the system clock and a daemon timer thread of its
   * own. Does not fail when etcd is unreachable: it keeps trying, degraded.
   */
  public static HerdCluster start(ClusterConfig config) {
    return start(config, Ticker.system(), null);
  }

  /**
   * Joins the cluster with the given clock and scheduler. The scheduler stays the caller's (it is
   * not shut down by {@link #close()}); both must measure real time, since etcd's lease does.
   *
   * @param scheduler where the cluster's timers run, or null for a daemon thread of its own
   */
  public static HerdCluster start(ClusterConfig config, Ticker ticker, Scheduler scheduler) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(ticker, "ticker");
    return new HerdCluster(ClusterMember.start(config, ticker, scheduler));
  }

  /** The session directory the local pool writes its bindings through. */
  public SessionDirectory directory() {
    return member.directory();
  }

  /**
   * The router the gateway asks for each request; binds {@code pool} to this cluster (and publishes
   * its free capacity). Returns the same router when called again with the same pool.
   *
   * @throws IllegalStateException when called with another pool
   */
  public SessionRouter router(SessionPool pool) {
    return member.router(Objects.requireNonNull(pool, "pool"));
  }

  /** The state, this node, and the gateways this one sees. Never blocks. */
  public ClusterStatus status() {
    return member.status();
  }

  /**
   * The node that owns session {@code key}: this node while it holds the key's claim, otherwise as
   * last seen in etcd (it may lag by a moment). Never blocks.
   */
  public Optional<String> owner(String key) {
    return member.owner(key);
  }

  /** A snapshot of the counters. */
  public ClusterCounters counters() {
    return member.counters();
  }

  /**
   * Leaves the cluster: refuses new requests, marks this node as leaving (so peers do not report
   * its sessions lost) and revokes its lease, so its claims vanish at once. Close the pool first:
   * sessions still live here are ended and their workers killed. Waits at most about two etcd
   * request timeouts. Idempotent.
   */
  @Override
  public void close() {
    member.close();
  }
}
