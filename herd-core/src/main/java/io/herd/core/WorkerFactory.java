package io.herd.core;

import java.util.concurrent.CompletableFuture;

/**
 * Creates workers for a pool: the seam where processes, containers or microVMs plug in without
 * the pool knowing which.
 *
 * <p>Thread-safe; the pool calls {@link #spawn} from several threads. A factory is closed by its
 * owner after the pool that uses it.
 */
public interface WorkerFactory extends AutoCloseable {

  /**
   * Starts a worker and completes once it is ready to serve (healthy), or exceptionally with a
   * {@link WorkerStartException} that says why it could not start. A failed spawn must leave
   * nothing running.
   *
   * @param workerId the id the worker must report from {@link Worker#id()}; never reused
   */
  CompletableFuture<Worker> spawn(String workerId);

  /**
   * Starts a worker as {@link #spawn(String)} does, but starts nothing that counts against the
   * pool's {@code max} (its process, its VM) before {@code mayStart} completes. Meanwhile the
   * factory may prepare whatever else the worker needs (its sandbox, scratch directory, network):
   * the pool asks for such a spawn while the worker whose slot it will take is still stopping, and
   * completes {@code mayStart} the moment that worker has exited, so that the replacement's
   * preparation overlaps the victim's stop.
   *
   * <p>When {@code mayStart} completes exceptionally, the spawn fails with a {@link
   * WorkerStartException} caused by it, having started nothing and released what it prepared.
   * The worker's start timeout counts from the moment it may start.
   *
   * <p>The default waits for {@code mayStart} and then calls {@link #spawn(String)}: correct for
   * every factory, with no overlap.
   *
   * @param mayStart completed by the pool once a slot is free; the factory only reads it
   */
  default CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
    CompletableFuture<Worker> result = new CompletableFuture<>();
    mayStart.whenComplete(
        (v, gateError) -> {
          if (gateError != null) {
            result.completeExceptionally(
                new WorkerStartException(
                    "worker " + workerId + " was not started: " + gateError.getMessage(),
                    gateError));
            return;
          }
          CompletableFuture<Worker> started;
          try {
            started = spawn(workerId);
          } catch (RuntimeException e) {
            started = CompletableFuture.failedFuture(e);
          }
          started.whenComplete(
              (worker, error) -> {
                if (error != null) {
                  result.completeExceptionally(error);
                } else {
                  result.complete(worker);
                }
              });
        });
    return result;
  }

  /** Releases what the factory holds (threads, shutdown hooks). Does not stop live workers. */
  @Override
  default void close() {}
}
