package io.herd.core.local;

import io.herd.core.Scheduler;
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
 * <p>Thread-safe. Lifetime: owned by the pool that created it, which calls {@link #shutdown()}
 * once the pool has terminated; tasks scheduled after that never run.
 */
final class DaemonTimer implements Scheduler {

  private static final Logger log = LoggerFactory.getLogger(DaemonTimer.class);

  private final ScheduledThreadPoolExecutor executor;

  DaemonTimer(String threadName) {
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
      log.error("pool timer task failed; the timer carries on", e);
    }
  }

  void shutdown() {
    executor.shutdownNow();
  }
}
