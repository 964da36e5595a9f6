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

  /** Releases what the factory holds (threads, shutdown hooks). Does not stop live workers. */
  @Override
  default void close() {}
}
