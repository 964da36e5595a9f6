package io.herd.core;

/**
 * A worker's saved state, from which its factory can start it again: what is left of a session's
 * worker while the session is suspended (a memory snapshot for a microVM, a state file for a
 * process). The worker's process has gone; only this state remains, on disk or wherever its
 * factory keeps it.
 *
 * <p>Thread-safe. Lifetime: created by {@link SuspendableWorkerFactory#suspend}, and then either
 * consumed by exactly one {@link SuspendableWorkerFactory#resume} or {@link #discard() discarded}
 * by the pool (the session expired, was ended or the pool closed), never both. The pool
 * guarantees one of the two happens, exactly once.
 */
public interface SuspendedWorker {

  /** The id of the worker that was suspended, for logs and the admin view. */
  String workerId();

  /** How many bytes the saved state occupies (on disk for a snapshot), for the admin view. */
  long sizeBytes();

  /**
   * Deletes the saved state; it can no longer be resumed. Idempotent, never throws: a state that
   * cannot be removed is logged by the factory, since the session it belonged to is over anyway.
   */
  void discard();
}
