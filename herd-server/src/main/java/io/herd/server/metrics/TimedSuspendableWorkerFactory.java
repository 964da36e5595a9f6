package io.herd.server.metrics;

import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link TimedWorkerFactory} for a factory that can suspend its workers, which stays one: the
 * pool suspends idle sessions only through a {@link SuspendableWorkerFactory}, so wrapping one
 * in a plain timed factory would turn {@code pool.suspendAfter} off. Times every suspend (from the
 * call to the process gone) into {@code herd.worker.suspend} and every resume (to a healthy
 * worker) into {@code herd.worker.resume}: what an idle session costs to park and a returning
 * one waits for.
 *
 * <p>Thread-safe as its delegate. Closing it closes the delegate.
 */
public final class TimedSuspendableWorkerFactory implements SuspendableWorkerFactory {

  private final SuspendableWorkerFactory delegate;
  private final TimedWorkerFactory spawns;
  private final MeterRegistry registry;
  private final Tags tags;

  private TimedSuspendableWorkerFactory(SuspendableWorkerFactory delegate, MeterRegistry registry,
      Tags tags) {
    this.delegate = delegate;
    this.spawns = new TimedWorkerFactory(delegate, registry, tags);
    this.registry = registry;
    this.tags = tags;
  }

  /**
   * {@code delegate} timed: a {@link TimedSuspendableWorkerFactory} when it can suspend, else a
   * {@link TimedWorkerFactory}.
   */
  public static WorkerFactory of(WorkerFactory delegate, MeterRegistry registry, Tags tags) {
    return delegate instanceof SuspendableWorkerFactory s
        ? new TimedSuspendableWorkerFactory(s, registry, tags)
        : new TimedWorkerFactory(delegate, registry, tags);
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return spawns.spawn(workerId);
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
    return spawns.spawn(workerId, mayStart);
  }

  @Override
  public CompletableFuture<SuspendedWorker> suspend(Worker worker) {
    return timed("herd.worker.suspend", "Time from suspend to the worker's state saved and its"
        + " process gone", delegate.suspend(worker));
  }

  @Override
  public CompletableFuture<Worker> resume(SuspendedWorker state, String workerId) {
    return timed("herd.worker.resume", "Time from resume to a healthy worker with its saved state",
        delegate.resume(state, workerId));
  }

  private <T> CompletableFuture<T> timed(String name, String description,
      CompletableFuture<T> future) {
    long start = System.nanoTime();
    future.whenComplete((value, error) -> Timer.builder(name)
        .description(description)
        .tag("outcome", error == null ? "ok" : "failed")
        .tags(tags)
        .serviceLevelObjectives(LatencyBuckets.BOUNDS)
        .register(registry)
        .record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
    return future;
  }

  @Override
  public void close() {
    delegate.close();
  }
}
