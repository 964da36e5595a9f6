package io.herd.cluster.internal;

import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.Scheduler;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Keeps this node's record in etcd ({@link NodeRecord}: advertise address, lease, free capacity) up
 * to date. Listens to the pool and rewrites the record when its free capacity changed, debounced to
 * one write per 250 ms at most; rewrites it when the watch shows it missing or on a lease that is
 * not the current one.
 *
 * <p>Free capacity = {@code max - busy - starting - stopping - queued}, at least 0: the sessions
 * this pool could start now without queueing. Peers place new sessions on the node with most.
 *
 * <p>Thread-safe: its small state is guarded by this object's lock, never held across an etcd call.
 * Lifetime: that of the cluster member.
 */
final class CapacityPublisher implements PoolListener {

  private static final long DEBOUNCE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String node;
  private final URI advertise;
  private final KeyLayout layout;
  private final Etcd etcd;
  private final Membership membership;
  private final Scheduler scheduler;
  private volatile SessionPool pool;

  // Guarded by this.
  private boolean scheduled;
  private NodeRecord published;
  private boolean closed;

  CapacityPublisher(
      String node,
      URI advertise,
      KeyLayout layout,
      Etcd etcd,
      Membership membership,
      Scheduler scheduler) {
    this.node = node;
    this.advertise = advertise;
    this.layout = layout;
    this.etcd = etcd;
    this.membership = membership;
    this.scheduler = scheduler;
  }

  /** The pool whose capacity is published; called once. */
  void attach(SessionPool attached) {
    this.pool = attached;
    attached.addListener(this);
    changed();
  }

  void detach() {
    SessionPool attached = pool;
    synchronized (this) {
      closed = true;
    }
    if (attached != null) {
      attached.removeListener(this);
    }
  }

  /** Sessions the pool could start now without queueing; 0 without a pool. */
  int free() {
    SessionPool p = pool;
    if (p == null) {
      return 0;
    }
    PoolStats s = p.stats();
    return Math.max(0, p.config().max() - s.busy() - s.starting() - s.stopping() - s.queued());
  }

  int max() {
    SessionPool p = pool;
    return p == null ? 0 : p.config().max();
  }

  /** This node's record under {@code lease}, as it stands now. */
  NodeRecord record(long lease) {
    return new NodeRecord(node, advertise, lease, free(), max(), false);
  }

  /** Writes the record under a freshly granted lease (joining). */
  CompletableFuture<Void> register(long lease) {
    NodeRecord record = record(lease);
    return etcd.put(layout.node(node), record.encode(), lease)
        .thenRun(
            () -> {
              synchronized (this) {
                published = record;
              }
            });
  }

  /** Marks this node as leaving on purpose, just before its lease is revoked. */
  CompletableFuture<Void> leave(long lease) {
    return etcd.put(layout.node(node), record(lease).asLeaving().encode(), lease);
  }

  /** The watch saw this node's record ({@code null}: deleted). */
  void seen(NodeRecord record) {
    long lease = membership.lease();
    if (lease != 0 && membership.phase().serving() && (record == null || record.lease() != lease)) {
      synchronized (this) {
        published = null;
      }
      changed();
    }
  }

  /** Something changed: publish within 250 ms. */
  void changed() {
    schedule(DEBOUNCE_NANOS);
  }

  private void schedule(long delayNanos) {
    synchronized (this) {
      if (scheduled || closed) {
        return;
      }
      scheduled = true;
    }
    scheduler.schedule(this::publish, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void publish() {
    long lease = membership.lease();
    NodeRecord record = record(lease);
    synchronized (this) {
      scheduled = false;
      if (closed || lease == 0 || record.equals(published)) {
        return;
      }
    }
    etcd.put(layout.node(node), record.encode(), lease)
        .whenComplete(
            (ok, err) -> {
              if (err != null) {
                schedule(RETRY_NANOS);
                return;
              }
              synchronized (this) {
                published = record;
              }
              if (!record.equals(record(membership.lease()))) {
                changed(); // changed again meanwhile
              }
            });
  }

  @Override
  public void sessionStarted(String key, Worker worker) {
    changed();
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    changed();
  }

  @Override
  public void workerStarted(Worker worker) {
    changed();
  }

  @Override
  public void workerStopped(Worker worker, WorkerExit exit) {
    changed();
  }

  @Override
  public void workerCrashed(Worker worker, WorkerExit exit) {
    changed();
  }

  @Override
  public void spawnFailed(String workerId, Throwable error) {
    changed();
  }
}
