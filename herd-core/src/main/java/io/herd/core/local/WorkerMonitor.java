package io.herd.core.local;

import io.herd.core.PoolConfig;
import io.herd.core.Scheduler;
import io.herd.core.Ticker;
import io.herd.core.WorkerExit;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the pool's workers and turns what it sees into {@link Allocator} events: a worker's exit
 * ({@link Allocator#exited}), the answers of the periodic liveness probes ({@link
 * Allocator#healthChecked}) and of the check of a freed worker before reuse ({@link
 * Allocator#recycleChecked}). It decides nothing itself: whether an exit is a crash, how many
 * failed probes remove a worker, and what becomes of its session is decided in one place, {@code
 * Allocator.crash}, whichever way the failure was seen.
 *
 * <p><b>Maintenance tick.</b> Every {@code worker.health.interval} (on the pool's {@link
 * Scheduler}) it asks the allocator to scale down and refill, then probes every idle and busy
 * worker. A cycle whose probes have not all answered makes the next tick skip, so slow workers
 * never pile up probes.
 *
 * <p>Thread-safe: exits and probe answers arrive on the workers' threads, ticks on the scheduler's.
 * Lifetime: started with the pool; {@link #stop()} cancels the tick when the pool closes (exits
 * are still watched until every worker has gone).
 */
final class WorkerMonitor {

  private static final Logger log = LoggerFactory.getLogger(WorkerMonitor.class);

  private final Allocator allocator;
  private final Scheduler scheduler;
  private final Ticker ticker;
  private final Consumer<Effects> apply;
  private final Duration healthTimeout;
  private final long intervalNanos;
  private final String poolName;
  private final AtomicBoolean cycleRunning = new AtomicBoolean();
  private volatile boolean stopped;
  private volatile Scheduler.Task nextTick;

  WorkerMonitor(
      PoolConfig config,
      Allocator allocator,
      Scheduler scheduler,
      Ticker ticker,
      Consumer<Effects> apply) {
    this.allocator = allocator;
    this.scheduler = scheduler;
    this.ticker = ticker;
    this.apply = apply;
    this.healthTimeout = config.healthTimeout();
    this.intervalNanos = config.healthInterval().toNanos();
    this.poolName = config.name();
  }

  void start() {
    scheduleTick();
  }

  /** Stops the maintenance tick; exits of the remaining workers are still reported. */
  void stop() {
    stopped = true;
    Scheduler.Task t = nextTick;
    if (t != null) {
      t.cancel();
    }
  }

  /** Reports the worker's exit to the allocator, whenever it comes (at once if it already has). */
  void watch(PooledWorker w) {
    w.worker
        .onExit()
        .whenComplete(
            (exit, err) -> {
              WorkerExit how =
                  exit != null
                      ? exit
                      : new WorkerExit(OptionalInt.empty(), false, "exit unknown: " + err);
              apply.accept(allocator.exited(w, how, ticker.read()));
            });
  }

  /** Checks a worker freed by its session before it serves another. */
  void checkBeforeReuse(PooledWorker w) {
    probe(w)
        .thenAccept(ok -> apply.accept(allocator.recycleChecked(w, ok, ticker.read())));
  }

  private void scheduleTick() {
    if (!stopped) {
      nextTick = scheduler.schedule(this::tick, intervalNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void tick() {
    scheduleTick();
    if (stopped || !cycleRunning.compareAndSet(false, true)) {
      return; // the last cycle's probes are still out: skip this one
    }
    try {
      Effects fx = allocator.tick(ticker.read());
      apply.accept(fx);
      List<PooledWorker> toProbe = fx.toProbe();
      CompletableFuture<?>[] probes = new CompletableFuture<?>[toProbe.size()];
      for (int i = 0; i < probes.length; i++) {
        PooledWorker w = toProbe.get(i);
        probes[i] =
            probe(w).thenAccept(ok -> apply.accept(allocator.healthChecked(w, ok, ticker.read())));
      }
      CompletableFuture.allOf(probes).whenComplete((v, e) -> cycleRunning.set(false));
    } catch (RuntimeException | Error e) {
      log.error("pool {} maintenance failed; will retry next cycle", poolName, e);
      cycleRunning.set(false);
    }
  }

  /**
   * One health check; completes with false rather than exceptionally, whatever goes wrong. Each
   * answer is one DEBUG line (with {@code worker} as a key-value): at INFO a pool of fifty workers
   * probed every few seconds would drown everything else.
   */
  private CompletableFuture<Boolean> probe(PooledWorker w) {
    try {
      return w.worker
          .checkHealth(healthTimeout)
          .handle((ok, err) -> {
            boolean healthy = err == null && Boolean.TRUE.equals(ok);
            log.atDebug().addKeyValue("worker", w.id)
                .log("health check of worker {}: {}", w.id, healthy ? "healthy"
                    : err != null ? "failed: " + err : "unhealthy");
            return healthy;
          });
    } catch (RuntimeException e) {
      log.warn("health check of worker {} threw; counted as failed", w.id, e);
      return CompletableFuture.completedFuture(false);
    }
  }
}
