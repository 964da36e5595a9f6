package io.herd.core;

import java.util.concurrent.CompletableFuture;

/**
 * A {@link WorkerFactory} whose workers can be saved and their process ended, then started again
 * from what was saved with their state intact: the seam behind {@code suspendAfter}, which lets a
 * pool scale an idle session's worker to zero processes without losing the session.
 *
 * <p>Thread-safe, like every factory. The pool calls {@link #suspend} only on a worker it owns and
 * that serves no lease, and never uses that worker again once the call is made, whatever its
 * outcome; it calls {@link #resume} at most once per saved state.
 */
public interface SuspendableWorkerFactory extends WorkerFactory {

  /**
   * Saves the worker's state and ends its process; completes when the process has gone (its
   * {@link Worker#onExit()} has completed), so the pool's count of live processes stays true.
   * Completes exceptionally when the state could not be saved; the worker may then still be
   * running and the pool stops it.
   */
  CompletableFuture<SuspendedWorker> suspend(Worker worker);

  /**
   * Starts a worker from saved state, ready (healthy), reporting {@code workerId}; consumes the
   * state. Completes exceptionally with a {@link WorkerStartException} saying why it could not
   * start, leaving nothing running; the pool then {@link SuspendedWorker#discard() discards} the
   * state (its session has ended), so a failed resume need not clean it up itself.
   *
   * @param workerId the id the new worker must report from {@link Worker#id()}; never reused
   */
  CompletableFuture<Worker> resume(SuspendedWorker state, String workerId);
}
