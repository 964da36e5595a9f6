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
  // Volatile: replaced by reconfigure(), read by the tick and probe threads.
  private volatile Duration healthTimeout;
  private volatile long intervalNanos;
  private final String poolName;
  private final AtomicBoolean cycleRunning = new AtomicBoolean();
  private volatile boolean stopped;
  /** The pending tick. Guarded by {@code this}. */
  private Scheduler.Task nextTick;

  /**
   * Which tick chain is current. Guarded by {@code this}. A reconfigured interval starts a new
   * chain; a tick of an older chain that is already running when that happens finds its number
   * stale and does not reschedule, so there is only ever one chain.
   */
  private long tickGeneration;

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

  synchronized void start() {
    scheduleTick();
  }

  /** Stops the maintenance tick; exits of the remaining workers are still reported. */
  synchronized void stop() {
    stopped = true;
    if (nextTick != null) {
      nextTick.cancel();
    }
  }

  /**
   * Takes the health interval and timeout of a reconfigured pool. A changed interval reschedules
   * the next tick at once (an hour-long interval shortened to a second must not wait an hour); a
   * timeout applies to the next probe.
   */
  synchronized void reconfigure(PoolConfig config) {
    long interval = config.healthInterval().toNanos();
    this.healthTimeout = config.healthTimeout();
    if (interval != intervalNanos) {
      this.intervalNanos = interval;
      if (nextTick != null) {
        nextTick.cancel();
      }
      scheduleTick();
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

  /** Schedules the next tick of a new chain. Called holding {@code this}. */
  private void scheduleTick() {
    if (!stopped) {
      long generation = ++tickGeneration;
      nextTick = scheduler.schedule(() -> tick(generation), intervalNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void tick(long generation) {
    synchronized (this) {
      if (generation != tickGeneration) {
        return; // a reconfigured interval replaced this chain
      }
      scheduleTick();
    }
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
