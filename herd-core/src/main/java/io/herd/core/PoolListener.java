package io.herd.core;

/**
 * Receives the pool's lifecycle events: metrics, logs and the application's crash handling are
 * built on it. Every method has an empty default, so implement only what you need.
 *
 * <p>Calls come from pool threads and the threads that acquire or close leases, never while the
 * pool holds a lock, possibly concurrently: implementations must be thread-safe and quick. An
 * exception thrown by a listener is logged and otherwise ignored.
 *
 * <p><b>Order.</b> Per session: {@code sessionStarted} once, then any number of {@code
 * sessionSuspended} and {@code sessionResumed} in turn, then {@code sessionEnded} once; a key's
 * next session starts only after that. Per worker: {@code workerStarted} before any other
 * event about it, then exactly one of {@code workerStopped} or {@code workerCrashed}; a crash is
 * reported before the {@code CRASHED} end of the session it took down. Events about different
 * sessions or workers may arrive in any relative order when they happen on different threads — a
 * worker's {@code workerStopped} may, rarely, precede the {@code sessionEnded} of the session it
 * served.
 */
public interface PoolListener {

  /** A session was pinned to a worker. */
  default void sessionStarted(String key, Worker worker) {}

  /** A session ended; its key may now start a new session. */
  default void sessionEnded(String key, Worker worker, SessionEndReason reason) {}

  /**
   * An idle session's worker was saved and its process ended ({@code suspendAfter}); the session
   * lives on, and its next acquire resumes it. {@code worker} is the one that was saved, whose
   * {@code workerStopped} follows.
   */
  default void sessionSuspended(String key, Worker worker) {}

  /**
   * A suspended session was resumed on {@code worker}, started from its saved state; the {@code
   * workerStarted} of that worker came first. Its {@code sessionEnded} names this worker.
   */
  default void sessionResumed(String key, Worker worker) {}

  /** A worker became ready and joined the pool. */
  default void workerStarted(Worker worker) {}

  /** A worker the pool stopped has gone (scale down, recycle, shutdown). */
  default void workerStopped(Worker worker, WorkerExit exit) {}

  /** A worker exited on its own or failed its health checks and was removed. */
  default void workerCrashed(Worker worker, WorkerExit exit) {}

  /** A spawn failed; the pool backs off before the next one. */
  default void spawnFailed(String workerId, Throwable error) {}
}
