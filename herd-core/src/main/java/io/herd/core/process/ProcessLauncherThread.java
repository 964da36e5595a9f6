package io.herd.core.process;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thread that forks every worker process of a factory, so that {@code PR_SET_PDEATHSIG}
 * (set by {@code herd-launch}, or by {@link ParentDeathSignal}'s {@code setpriv}) fires when the
 * JVM dies and never before.
 *
 * <p>Why not an executor: the kernel sends the parent-death signal when the <em>thread</em> that
 * forked a child exits. A {@code ThreadPoolExecutor} retires idle threads and replaces a thread
 * whose task threw, and each such thread exit would SIGKILL every worker that thread had forked.
 * This thread therefore runs its own loop over a queue, catches every {@link Throwable} (an
 * {@code OutOfMemoryError} in one launch must not end it), ignores interrupts, and is a daemon so
 * that it never holds the JVM up.
 *
 * <p>Lifetime: started by the constructor. {@link #close()} refuses new launches and fails queued
 * ones, but the thread keeps running, parked, until every process it started has exited: ending
 * it earlier would kill them. Thread-safe.
 */
final class ProcessLauncherThread {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  /** Wakes the loop to re-check whether it may end; queued after each process exit. */
  private static final Launch WAKE_UP = new Launch(null);

  private final BlockingQueue<Launch> queue = new LinkedBlockingQueue<>();
  private final AtomicInteger liveProcesses = new AtomicInteger();
  private final Thread thread;
  private volatile boolean closed;

  ProcessLauncherThread() {
    thread = new Thread(this::loop, "herd-process-launcher-" + SEQUENCE.incrementAndGet());
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Starts {@code builder} on this thread. The future completes on this thread, so its dependents
   * must be quick; it fails with the {@code IOException} of {@link ProcessBuilder#start()}, or
   * with {@link IllegalStateException} once closed (at once when closed before this call).
   */
  CompletableFuture<Process> launch(ProcessBuilder builder) {
    Launch launch = new Launch(builder);
    if (closed) {
      launch.future.completeExceptionally(closedException());
      return launch.future;
    }
    queue.add(launch);
    // Re-check after queueing: close() may have drained the queue just before the add.
    if (closed && queue.remove(launch)) {
      launch.future.completeExceptionally(closedException());
    }
    return launch.future;
  }

  /** Refuses new launches and fails queued ones; the thread ends after its last process. */
  void close() {
    closed = true;
    Launch queued;
    while ((queued = queue.poll()) != null) {
      if (queued != WAKE_UP) {
        queued.future.completeExceptionally(closedException());
      }
    }
    queue.add(WAKE_UP);
  }

  /** The thread itself, for tests that check it stays the same one. */
  Thread thread() {
    return thread;
  }

  /** Processes started here that have not exited yet. */
  int liveProcesses() {
    return liveProcesses.get();
  }

  private void loop() {
    while (!(closed && liveProcesses.get() == 0 && queue.isEmpty())) {
      Launch launch;
      try {
        launch = queue.take();
      } catch (InterruptedException e) {
        continue; // nobody may stop this thread but close(); the flag is cleared by take()
      }
      if (launch == WAKE_UP) {
        continue;
      }
      try {
        run(launch);
      } catch (Throwable t) { // NOPMD: this thread must never die, see the class comment
        launch.future.completeExceptionally(t);
      }
    }
  }

  private void run(Launch launch) throws Exception {
    if (closed) {
      launch.future.completeExceptionally(closedException());
      return;
    }
    Process process = launch.builder.start();
    liveProcesses.incrementAndGet();
    process.onExit().whenComplete((p, e) -> {
      liveProcesses.decrementAndGet();
      queue.add(WAKE_UP);
    });
    launch.future.complete(process);
  }

  private static IllegalStateException closedException() {
    return new IllegalStateException("the process launcher is closed");
  }

  /** One request to start a process, and its outcome. */
  private static final class Launch {
    final ProcessBuilder builder;
    final CompletableFuture<Process> future = new CompletableFuture<>();

    Launch(ProcessBuilder builder) {
      this.builder = builder;
    }
  }
}
