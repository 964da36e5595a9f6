package io.herd.server.metrics;

import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link WorkerFactory} that times every spawn, from the call to a healthy worker (or the
 * failure), into {@code herd.worker.spawn}: the cold-start cost a new session pays.
 *
 * <p>Thread-safe as its delegate. Closing it closes the delegate.
 */
public final class TimedWorkerFactory implements WorkerFactory {

  private final WorkerFactory delegate;
  private final MeterRegistry registry;
  /** On every meter: {@code pool=<name>} in a gateway of several pools, else none. */
  private final Tags tags;

  public TimedWorkerFactory(WorkerFactory delegate, MeterRegistry registry) {
    this(delegate, registry, Tags.empty());
  }

  public TimedWorkerFactory(WorkerFactory delegate, MeterRegistry registry, Tags tags) {
    this.delegate = delegate;
    this.registry = registry;
    this.tags = tags;
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return timed(System.nanoTime(), delegate.spawn(workerId));
  }

  /**
   * The delegate's gated spawn, so that it still prepares while the pool waits for a slot; timed
   * from the moment the worker may start (what a cold start costs once it has a slot), or from
   * the call if the delegate finishes first.
   */
  @Override
  public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
    AtomicLong start = new AtomicLong(System.nanoTime());
    mayStart.thenRun(() -> start.set(System.nanoTime()));
    CompletableFuture<Worker> future = delegate.spawn(workerId, mayStart);
    future.whenComplete((worker, error) -> record(start.get(), error));
    return future;
  }

  private CompletableFuture<Worker> timed(long start, CompletableFuture<Worker> future) {
    future.whenComplete((worker, error) -> record(start, error));
    return future;
  }

  private void record(long start, Throwable error) {
    Timer.builder("herd.worker.spawn")
        .description("Time from spawn to a healthy worker")
        .tag("outcome", error == null ? "ok" : "failed")
        .tags(tags)
        .serviceLevelObjectives(LatencyBuckets.BOUNDS)
        .register(registry)
        .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
