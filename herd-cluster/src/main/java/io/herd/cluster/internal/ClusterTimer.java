package io.herd.cluster.internal;

import io.herd.core.Scheduler;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's own {@link Scheduler}: one named daemon thread for lease renewals, the fence check,
 * capacity publishing and retries. Tasks are short and never block (etcd calls are asynchronous). A
 * task that throws is logged and the thread carries on.
 *
 * <p>Thread-safe. Lifetime: owned by the cluster member that created it, which calls {@link
 * #shutdown()} when it closes; tasks scheduled after that never run.
 */
final class ClusterTimer implements Scheduler {

  private static final Logger log = LoggerFactory.getLogger(ClusterTimer.class);

  private final ScheduledThreadPoolExecutor executor;

  ClusterTimer(String threadName) {
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
      log.error("cluster timer task failed; the timer carries on", e);
    }
  }

  void shutdown() {
    executor.shutdownNow();
  }
}
