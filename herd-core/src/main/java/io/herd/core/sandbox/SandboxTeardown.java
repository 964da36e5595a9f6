package io.herd.core.sandbox;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tears down the sandboxes of exited workers off their exit path, so that a pool learns of an exit
 * (and frees the worker's slot for the next one) the moment the process has gone, not after the
 * tens of milliseconds that removing a cgroup, a network namespace and a scratch directory take on
 * a busy host.
 *
 * <p>One thread ({@code herd-sandbox-teardown-N}, a daemon that ends after 10 s idle) runs the
 * teardowns in the order the exits came. Nothing of an exited worker's sandbox is needed by
 * another: each worker has its own cgroup, namespace, scratch directory and UID, and a UID or an
 * address block is leased again only once its teardown handed it back.
 *
 * <p>Lifetime: one per {@link Sandbox}; {@link #close()} waits for the teardowns already queued,
 * so that once a factory has closed nothing of its workers remains. A teardown asked for after
 * that runs at once on the caller's thread. Thread-safe.
 */
final class SandboxTeardown implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SandboxTeardown.class);
  private static final AtomicLong THREADS = new AtomicLong();
  /** How long {@link #close()} waits for queued teardowns before it says so and goes on. */
  private static final long CLOSE_WAIT_SECONDS = 30;

  private final ThreadPoolExecutor thread;

  SandboxTeardown() {
    long n = THREADS.incrementAndGet();
    this.thread = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "herd-sandbox-teardown-" + n);
          t.setDaemon(true);
          return t;
        });
  }

  /** Runs {@code teardown} on the teardown thread, or now, on this thread, once closed. */
  void submit(Runnable teardown) {
    try {
      thread.execute(() -> runLogged(teardown));
    } catch (RejectedExecutionException e) {
      runLogged(teardown);
    }
  }

  private static void runLogged(Runnable teardown) {
    try {
      teardown.run();
    } catch (RuntimeException e) { // a bug: the next teardown must still run
      log.warn("worker sandbox teardown failed: {}", e.toString(), e);
    }
  }

  /** Waits (up to 30 s) for the queued teardowns; later ones run on their callers' threads. */
  @Override
  public void close() {
    thread.shutdown();
    try {
      if (!thread.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
        log.warn("{} worker sandbox teardowns still queued after {} s; they go on in the"
            + " background", thread.getQueue().size(), CLOSE_WAIT_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
