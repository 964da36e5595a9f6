package io.herd.core;

import java.util.concurrent.TimeUnit;

/**
 * Runs tasks once after a delay: every timer of a pool (acquire deadlines, session expiry, {@code
 * maxLifetime}, spawn retries, health checks) goes through one. By default a pool uses its own,
 * one daemon thread named {@code herd-<pool>-timer}; a test passes a scheduler it drives itself,
 * together with a {@link Ticker} that reads the same virtual clock, so that time-dependent
 * behaviour runs deterministically and without waiting.
 *
 * <p>Implementations must be thread-safe. Tasks are short and never block; one that throws must
 * not stop the scheduler. Delays are measured on the same clock as the pool's {@link Ticker}.
 *
 * <p>Lifetime: a scheduler passed to a pool belongs to the caller, who shuts it down after the
 * pool is closed. The pool cancels the tasks it scheduled when it closes.
 *
 * @see SessionPool#builder(PoolConfig, WorkerFactory)
 */
@FunctionalInterface
public interface Scheduler {

  /**
   * Runs {@code task} once, {@code delay} from now (at once if not positive, but never on the
   * calling thread). A scheduler that has been shut down returns a handle whose task never runs.
   */
  Task schedule(Runnable task, long delay, TimeUnit unit);

  /** A scheduled task. */
  @FunctionalInterface
  interface Task {

    /**
     * Prevents the task from running if it has not started yet; idempotent.
     *
     * @return whether this call prevented it
     */
    boolean cancel();
  }
}
