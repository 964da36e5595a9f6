package io.herd.core;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production {@link Scheduler}: one named daemon thread. Cancelled tasks leave its queue at
 * once, so the queue holds only what may still run. A task that throws is logged and does not
 * stop the thread.
 *
 * <p>Thread-safe. Lifetime: owned by whoever created it (a pool, a cluster member), which calls
 * {@link #shutdown()} once it has terminated; tasks scheduled after that never run.
 */
public final class DaemonScheduler implements Scheduler {

  private static final Logger log = LoggerFactory.getLogger(DaemonScheduler.class);

  private final ScheduledThreadPoolExecutor executor;

  /** Starts the scheduler's thread, a daemon named {@code threadName}. */
  public DaemonScheduler(String threadName) {
    this.executor =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, threadName);
              t.setDaemon(true);
              return t;
            });
    executor.setRemoveOnCancelPolicy(true);
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  @Override
  public Task schedule(Runnable task, long delay, TimeUnit unit) {
    try {
      ScheduledFuture<?> f = executor.schedule(() -> runLogged(task), delay, unit);
      return () -> f.cancel(false);
    } catch (RejectedExecutionException e) {
      return () -> false; // shut down: the task never runs
    }
  }

  private static void runLogged(Runnable task) {
    try {
      task.run();
    } catch (RuntimeException | Error e) {
      log.error(
          "timer task failed on {}; the timer carries on", Thread.currentThread().getName(), e);
    }
  }

  /** Stops the thread; tasks not yet run never run. */
  public void shutdown() {
    executor.shutdownNow();
  }
}
