package io.herd.benchmarks;

import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import java.util.concurrent.CompletableFuture;

/**
 * Spawns {@link FakeWorker}s, ready at once and on the calling thread: the pool's spawn path runs
 * end to end with no process, thread or socket behind it. Thread-safe; holds nothing to close.
 */
public final class FakeWorkerFactory implements WorkerFactory {

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return CompletableFuture.completedFuture(new FakeWorker(workerId));
  }
}
