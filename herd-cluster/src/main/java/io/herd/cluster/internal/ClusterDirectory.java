package io.herd.cluster.internal;

import io.herd.core.PoolListener;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's {@link SessionDirectory} in a cluster, and a listener of the pool. {@code bind} and
 * {@code unbind} do not write to etcd themselves: the claim was written before the pool was asked
 * (by the router), and a session is one more hold on it ({@link Claims}) from its {@code bind}
 * until the pool reports its end ({@link #sessionEnded}); the last hold releases the claim. {@code
 * lookup} and {@code size} answer from the cluster-wide cache: a local session is reported owned by
 * this node, and a key served by a peer as bound to {@code peer:<node>} at the peer's address,
 * owned by that node.
 *
 * <p>Never blocks, never calls etcd on the caller's thread. Thread-safe. Lifetime: that of the
 * cluster member.
 */
final class ClusterDirectory implements SessionDirectory, PoolListener {

  private static final Logger log = LoggerFactory.getLogger(ClusterDirectory.class);

  private final String self;
  private final Claims claims;
  private final ClusterView view;
  private final Consumer<String> endUnclaimed;
  /** The worker of each local session from sessionStarted to sessionEnded, for the fence to kill. */
  private final Map<String, Worker> workers = new ConcurrentHashMap<>();

  /**
   * @param endUnclaimed ends a session the pool started without a claim (someone acquired from the
   *     pool directly instead of through the router): it must not run unclaimed
   */
  ClusterDirectory(String self, Claims claims, ClusterView view, Consumer<String> endUnclaimed) {
    this.self = self;
    this.claims = claims;
    this.view = view;
    this.endUnclaimed = endUnclaimed;
  }

  @Override
  public Optional<SessionBinding> bind(SessionBinding binding) {
    KeyState ks = claims.live(binding.key());
    if (ks == null) {
      log.warn(
          "session {} started on worker {} without a claim in the cluster (acquired from the pool"
              + " directly, not through the cluster's router, or just fenced); ending it",
          binding.key(),
          binding.workerId());
      endUnclaimed.accept(binding.key());
      return Optional.empty();
    }
    SessionBinding before = ks.bind(binding);
    if (before == null) {
      claims.recordWorker(ks, binding.workerId());
    }
    return Optional.ofNullable(before);
  }

  @Override
  public Optional<SessionBinding> lookup(String key) {
    KeyState ks = claims.live(key);
    SessionBinding local = ks == null ? null : ks.binding();
    if (local != null) {
      // The pool names itself as the owner; in a cluster the owner is the node.
      return Optional.of(new SessionBinding(key, local.workerId(), local.address(), self));
    }
    return view.owner(key)
        .filter(node -> !node.equals(self))
        .flatMap(
            node ->
                view.node(node)
                    .map(
                        r ->
                            new SessionBinding(
                                key,
                                view.worker(key).orElse("peer:" + node),
                                r.advertise(),
                                node)));
  }

  @Override
  public boolean unbind(SessionBinding binding) {
    KeyState ks = claims.find(binding.key());
    return ks != null && ks.unbind(binding);
  }

  /**
   * The session's hold is released here, after {@code unbind}: the pool calls its listeners in the
   * order they were added, and this one is added by {@code router(pool)}, after the pool's own, so
   * every listener given to the pool's builder hears of the end before the key can be claimed
   * elsewhere.
   */
  @Override
  public void sessionStarted(String key, Worker worker) {
    workers.put(key, worker);
  }

  /** A resumed session runs on a new worker: the one a fence must kill from now on. */
  @Override
  public void sessionResumed(String key, Worker worker) {
    workers.put(key, worker);
  }

  /** A suspended session has no process left to kill. */
  @Override
  public void sessionSuspended(String key, Worker worker) {
    workers.remove(key, worker);
  }

  /** The workers of the local sessions now: what a fence must kill. */
  List<Worker> sessionWorkers() {
    return List.copyOf(workers.values());
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    workers.remove(key, worker);
    KeyState ks = claims.find(key);
    if (ks != null && ks.ended(worker.id())) {
      claims.release(ks);
    }
  }

  @Override
  public int size() {
    return view.size();
  }
}
