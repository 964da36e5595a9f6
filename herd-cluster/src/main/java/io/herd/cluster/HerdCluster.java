package io.herd.cluster;

import io.herd.core.SessionDirectory;
import io.herd.core.SessionPool;
import io.herd.proxy.SessionRouter;
import java.util.Optional;

/**
 * This gateway's membership of a cluster of gateways that share sessions through etcd: one key,
 * one worker, cluster-wide. TODO herd-cluster helper: the whole implementation.
 *
 * <p>Wiring: {@code HerdCluster cluster = HerdCluster.start(config);} then give {@link
 * #directory()} to the pool's builder, then {@link #router(SessionPool)} to the gateway's builder.
 */
public final class HerdCluster implements AutoCloseable {

  private HerdCluster() {}

  /** Joins the cluster; does not fail when etcd is unreachable (it keeps trying, degraded). */
  public static HerdCluster start(ClusterConfig config) {
    throw new UnsupportedOperationException("not yet");
  }

  /** The session directory the local pool writes its bindings through. */
  public SessionDirectory directory() {
    throw new UnsupportedOperationException("not yet");
  }

  /** The router the gateway asks for each request; binds {@code pool} to this cluster. */
  public SessionRouter router(SessionPool pool) {
    throw new UnsupportedOperationException("not yet");
  }

  /** This gateway's state and the nodes it knows. */
  public ClusterStatus status() {
    throw new UnsupportedOperationException("not yet");
  }

  /** The node that owns session {@code key}, as far as this gateway knows. */
  public Optional<String> owner(String key) {
    throw new UnsupportedOperationException("not yet");
  }

  /** The counters since start. */
  public ClusterCounters counters() {
    throw new UnsupportedOperationException("not yet");
  }

  /** Leaves the cluster: revokes the lease, so this gateway's sessions are released at once. */
  @Override
  public void close() {}
}
