package io.herd.server.metrics;

import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
    long start = System.nanoTime();
    CompletableFuture<Worker> future = delegate.spawn(workerId);
    future.whenComplete((worker, error) -> Timer.builder("herd.worker.spawn")
        .description("Time from spawn to a healthy worker")
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
