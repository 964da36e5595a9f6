package io.herd.core;

import io.herd.core.local.LocalSessionPool;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A pool of workers in which each session key is pinned to exactly one worker for the life of the
 * session, and each worker serves at most one session at a time.
 *
 * <p>Thread-safe. Acquiring a pinned session takes no global lock; only starting and ending
 * sessions coordinate through the pool's allocator. {@link #close()} stops every worker.
 */
public interface SessionPool extends AutoCloseable {

  /**
   * Creates and starts a pool: it begins spawning {@code min} and {@code warm} workers at once.
   *
   * @param directory where session bindings are recorded
   */
  static SessionPool create(PoolConfig config, WorkerFactory factory, SessionDirectory directory) {
    return new LocalSessionPool(config, factory, directory);
  }

  /** Creates a pool with an in-memory session directory. */
  static SessionPool create(PoolConfig config, WorkerFactory factory) {
    return create(config, factory, new InMemorySessionDirectory());
  }

  /** This pool's configuration. */
  PoolConfig config();

  /**
   * A lease on the worker of session {@code key}, pinning the key to an idle or freshly spawned
   * worker when the session is new. Concurrent acquires of a new key share one assignment.
   *
   * <p>The future fails with {@link QueueFullException}, {@link AcquireTimeoutException}, {@link
   * WorkerStartException} or {@link PoolClosedException}; it never stays pending beyond the
   * acquire timeout. Cancelling it withdraws this acquire.
   */
  CompletableFuture<SessionLease> acquire(String key);

  /**
   * Blocking form of {@link #acquire(String)} that waits at most {@code timeout} (and at most the
   * pool's acquire timeout).
   *
   * @throws InterruptedException if interrupted while waiting; the acquire is withdrawn
   */
  SessionLease acquire(String key, Duration timeout) throws InterruptedException;

  /**
   * Ends session {@code key} with reason {@link SessionEndReason#RELEASED}. A worker with no open
   * lease is recycled (reused or replaced); one with open leases is stopped, since its in-flight
   * work belongs to the ended session.
   *
   * @return whether the session existed
   */
  boolean end(String key);

  /** Registers a listener for lifecycle events. */
  void addListener(PoolListener listener);

  /** Removes a listener. */
  void removeListener(PoolListener listener);

  /** Figures of the pool; never blocks. */
  PoolStats stats();

  /** Snapshot of the pinned sessions. */
  List<SessionInfo> sessions();

  /** Snapshot of the live (not starting) workers. */
  List<WorkerInfo> workers();

  /**
   * Refuses new acquires, fails queued ones, ends every session ({@link SessionEndReason#SHUTDOWN})
   * and stops every worker, waiting for them to exit. Idempotent.
   */
  @Override
  void close();
}
