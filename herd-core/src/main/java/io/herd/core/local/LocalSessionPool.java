package io.herd.core.local;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.DaemonScheduler;
import io.herd.core.FieldProblem;
import io.herd.core.HerdException;
import io.herd.core.InvalidConfigException;
import io.herd.core.PoolClosedException;
import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.Scheduler;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Ticker;
import io.herd.core.WorkerFactory;
import io.herd.core.WorkerInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-process {@link SessionPool}: the hot path, and the glue between the parts that do the
 * rest.
 *
 * <h2>Design</h2>
 *
 * <pre>
 *   acquire / lease.close / end ──▶ hot path (this class: session map + one CAS)
 *                                      │ new session, session ended, went idle
 *                                      ▼
 *   spawn done, exit, health ──▶ Allocator (lock; decides, returns Effects)
 *   (WorkerMonitor)                    │
 *                                      ▼
 *   SessionTimers ◀─────────── EffectRunner: stop/spawn workers, directory, listeners,
 *   (TTL, maxLifetime, deadlines)  timers, futures — with no lock held
 * </pre>
 *
 * <p><b>Hot path, no lock.</b> {@link #acquire(String)} of a pinned key is a {@link
 * ConcurrentHashMap} read and one compare-and-set on the session's holder count ({@link
 * Session}); closing the lease is a compare-and-set on the lease and one on the session. No lock,
 * no shared counter, so threads working on different keys never touch the same cache line.
 *
 * <p><b>Decide under the lock, act after it.</b> Everything that moves workers between sessions is
 * decided by the {@link Allocator} under its lock and returned as {@link Effects}; the {@link
 * EffectRunner} carries them out with no lock held, in a fixed order (see {@link Effects}). No
 * future is completed, no listener called and no process started or stopped under the lock.
 *
 * <p><b>Singleflight.</b> The first acquirer of a key inserts a pending session with {@code
 * putIfAbsent}; every concurrent acquirer retains that same session and waits on its {@code ready}
 * future, so exactly one worker is assigned or spawned.
 *
 * <p><b>Activation.</b> A session handed a worker is announced (directory binding, {@code
 * sessionStarted}) and then confirmed with the allocator; only then do its acquirers get leases.
 * If it ended or its worker died in between, the confirmation reports the end after the start and
 * the acquirers fail with {@link SessionEndedException}: no lease is made on a worker known dead.
 *
 * <p><b>One session per key at a time, in the directory too.</b> An ended session leaves the map
 * only after its end has been reported and its binding removed; an acquirer that finds it ended
 * waits for that ({@link Session#gone}) before it starts the key's next session.
 *
 * <p><b>Suspension</b> ({@code suspendAfter}, with a {@link SuspendableWorkerFactory}). An idle
 * session's timer parks it by a compare-and-set from zero holders ({@link Session#parkIfIdle}), so
 * it never races a lease; its worker is saved and its process ends, and its slot is freed once the
 * process has gone. An acquire that retains a parked session waits for its resume, which the
 * allocator decides once however many acquirers arrive ({@link Allocator#wake}); the resume takes a
 * worker slot like a spawn. A lease is only ever made on a worker whose retain saw the session
 * unparked, so no acquirer is served by a worker being saved.
 *
 * <p><b>Time</b> is read from the injected {@link Ticker} and every timer runs on the injected
 * {@link Scheduler} (by default {@link System#nanoTime()} and one daemon thread the pool owns), so
 * tests run TTLs, deadlines and backoff in virtual time.
 *
 * <p>Callbacks chained on the futures this pool returns may run on pool threads; do heavy work with
 * the {@code ...Async} variants and an executor of your own.
 */
public final class LocalSessionPool implements SessionPool {

  private static final Logger log = LoggerFactory.getLogger(LocalSessionPool.class);
  private static final long SECOND_NANOS = 1_000_000_000L;

  /**
   * The current settings: replaced by {@link #reconfigure}, read without a lock by acquires (the
   * acquire timeout) and observers. Volatile, and immutable itself, so a reader sees one whole
   * {@link PoolConfig}, never half of two.
   */
  private volatile PoolConfig config;
  private final Ticker ticker;
  private final DaemonScheduler ownTimer;
  /** Serialises {@link #reconfigure}, so its parts are published in the same order for all. */
  private final Object reconfigureLock = new Object();

  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final Allocator allocator;
  private final EffectRunner runner;
  private final SessionTimers timers;
  private final PoolCounters counters;

  private final AtomicBoolean closing = new AtomicBoolean();

  /** Set once close begins; acquires then fail fast. The allocator decides the rest. */
  private volatile boolean closed;

  /**
   * Creates the pool and starts filling it to {@code min} and {@code warm}.
   *
   * @param scheduler where timers run; null for a daemon timer thread the pool owns
   * @param listeners registered before the first worker is spawned
   */
  public LocalSessionPool(
      PoolConfig config,
      WorkerFactory factory,
      SessionDirectory directory,
      Ticker ticker,
      Scheduler scheduler,
      List<PoolListener> listeners) {
    this.config = Objects.requireNonNull(config, "config");
    requireSuspendable(config, Objects.requireNonNull(factory, "factory"));
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.ownTimer = scheduler == null ? new DaemonScheduler("herd-" + config.name() + "-timer") : null;
    this.allocator = new Allocator(config);
    this.runner =
        new EffectRunner(
            config,
            allocator,
            sessions,
            Objects.requireNonNull(factory, "factory"),
            Objects.requireNonNull(directory, "directory"),
            ticker,
            scheduler != null ? scheduler : ownTimer);
    this.timers = runner.timers;
    this.counters = runner.counters;
    listeners.forEach(runner.listeners::add);
    runner.monitor.start();
    apply(allocator.rebalance(ticker.read()));
  }

  /** Creates the pool with the system ticker and its own timer thread. */
  public LocalSessionPool(PoolConfig config, WorkerFactory factory, SessionDirectory directory) {
    this(config, factory, directory, Ticker.system(), null, List.of());
  }

  /** {@code suspendAfter} needs a factory that can save and restore its workers. */
  private static void requireSuspendable(PoolConfig config, WorkerFactory factory) {
    Optional<Duration> suspendAfter = config.suspendAfter();
    if (suspendAfter.isPresent() && !(factory instanceof SuspendableWorkerFactory)) {
      throw new InvalidConfigException(
          List.of(
              FieldProblem.of(
                  "pool.suspendAfter",
                  suspendAfter.get(),
                  "is set, but the pool's workers cannot be suspended (their factory, "
                      + factory.getClass().getSimpleName()
                      + ", does not implement SuspendableWorkerFactory)",
                  "unset, or a worker type that can be suspended (worker.vm)")));
    }
  }

  @Override
  public PoolConfig config() {
    return config;
  }

  /**
   * Takes new settings while the pool runs, without ending a session. {@code next} is published
   * whole: the allocator decides with it from its next decision on, the timers and the health
   * tick take its durations, and acquires from now on wait up to its {@code acquireTimeout}.
   *
   * <ul>
   *   <li>A higher {@code max} (or {@code maxQueue}) serves waiting sessions at once.
   *   <li>A lower {@code max} stops idle workers beyond it now and busy ones as their sessions end;
   *       no session is cut short, and nothing is spawned until the count is within the new max.
   *   <li>{@code min} and {@code warm} refill at once and shrink on the maintenance tick, as
   *       always.
   *   <li>{@code ttl} applies from each idle session's next expiry check; {@code maxLifetime} to
   *       sessions that start from now on; acquires already waiting keep their deadline.
   * </ul>
   *
   * <p>Thread-safe; concurrent calls are applied one after the other.
   *
   * @throws IllegalArgumentException when {@code next} names another pool: the name is part of
   *     the pool's identity (thread names, metrics, directory keys) and cannot change
   */
  @Override
  public void reconfigure(PoolConfig next) {
    Objects.requireNonNull(next, "next");
    synchronized (reconfigureLock) {
      if (!next.name().equals(config.name())) {
        throw new IllegalArgumentException("pool.name cannot change while the pool runs: "
            + config.name() + " -> " + next.name() + " (expected: " + config.name() + ")");
      }
      if (closed) {
        return;
      }
      requireSuspendable(next, runner.factory());
      config = next;
      timers.reconfigure(next);
      runner.monitor.reconfigure(next);
      apply(allocator.reconfigure(next, ticker.read()));
    }
    log.debug("pool {} reconfigured: {}", next.name(), next);
  }

  // ---------------------------------------------------------------- acquire

  @Override
  public CompletableFuture<SessionLease> acquire(String key) {
    Objects.requireNonNull(key, "key");
    Session s = sessions.get(key);
    int held;
    if (s != null && (held = s.retain()) != Session.ENDED) {
      PooledWorker w = s.worker;
      if (w != null && !Session.parked(held)) {
        return CompletableFuture.completedFuture(new Lease(this, s, w, 0, false));
      }
      Duration budget = config.acquireTimeout();
      long now = ticker.read();
      return awaitRetained(s, held, now, now + budget.toNanos(), budget);
    }
    Duration budget = config.acquireTimeout();
    long now = ticker.read();
    return acquireSlow(key, now, now + budget.toNanos(), budget);
  }

  @Override
  public SessionLease acquire(String key, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(key, "key");
    Duration poolBudget = config.acquireTimeout();
    Duration budget = timeout.compareTo(poolBudget) < 0 ? timeout : poolBudget;
    long now = ticker.read();
    // One future, failed by the pool's own deadline on the pool's clock. The wait below has a
    // wall-clock bound only as a safety net, twice as long: it matters only when the pool's
    // timer cannot run, e.g. when this very call blocks the timer's thread from a callback.
    CompletableFuture<SessionLease> f = acquireSlow(key, now, now + budget.toNanos(), budget);
    long budgetNanos = budget.toNanos();
    long safetyNanos =
        budgetNanos > (Long.MAX_VALUE - SECOND_NANOS) / 2
            ? Long.MAX_VALUE
            : 2 * budgetNanos + SECOND_NANOS;
    try {
      return f.get(safetyNanos, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      if (f.cancel(false)) {
        counters.acquireTimeouts.increment();
        throw timeoutError(key, budget);
      }
      return resultOf(f); // completed after all, just now: take what it has
    } catch (InterruptedException e) {
      if (!f.cancel(false)) {
        f.thenAccept(SessionLease::close);
      }
      Thread.currentThread().interrupt();
      throw e;
    } catch (ExecutionException e) {
      throw propagate(e.getCause());
    }
  }

  /** The outcome of a completed future, its failure unwrapped (never a CompletionException). */
  private static SessionLease resultOf(CompletableFuture<SessionLease> done) {
    try {
      return done.get();
    } catch (ExecutionException e) {
      throw propagate(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // cannot happen: the future is complete
      throw new HerdException("interrupted", e);
    }
  }

  /** Everything but the pinned hot path: new sessions, pending ones, ended ones. */
  private CompletableFuture<SessionLease> acquireSlow(
      String key, long startNanos, long deadlineNanos, Duration budget) {
    for (; ; ) {
      Session s = sessions.get(key);
      if (s != null) {
        int held = s.retain();
        if (held != Session.ENDED) {
          PooledWorker w = s.worker;
          if (w != null && !Session.parked(held)) {
            return CompletableFuture.completedFuture(new Lease(this, s, w, 0, false));
          }
          return awaitRetained(s, held, startNanos, deadlineNanos, budget);
        }
        if (s.gone.isDone()) {
          continue; // left the map just now
        }
        return afterGone(s, key, startNanos, deadlineNanos, budget);
      }
      if (closed) {
        return CompletableFuture.failedFuture(closedError());
      }
      Session fresh = new Session(key, ticker.read());
      if (sessions.putIfAbsent(key, fresh) != null) {
        continue;
      }
      CompletableFuture<SessionLease> result =
          awaitWorker(fresh, fresh.ready, startNanos, deadlineNanos, budget, true);
      apply(allocator.enqueue(fresh, ticker.read()));
      return result;
    }
  }

  /**
   * The key's session has ended but its end is still being reported: start the next session once
   * it has left the map, within the same deadline.
   */
  private CompletableFuture<SessionLease> afterGone(
      Session ended, String key, long startNanos, long deadlineNanos, Duration budget) {
    CompletableFuture<SessionLease> result = new CompletableFuture<>();
    Scheduler.Task deadline =
        timers.at(
            deadlineNanos,
            () -> {
              if (result.completeExceptionally(timeoutError(key, budget))) {
                counters.acquireTimeouts.increment();
              }
            });
    ended.gone.whenComplete(
        (v, e) -> {
          deadline.cancel();
          if (result.isDone()) {
            return; // cancelled or timed out meanwhile
          }
          CompletableFuture<SessionLease> next =
              acquireSlow(key, startNanos, deadlineNanos, budget);
          next.whenComplete(
              (lease, err) -> {
                if (err != null) {
                  result.completeExceptionally(EffectRunner.unwrap(err));
                } else if (!result.complete(lease)) {
                  lease.close();
                }
              });
          result.whenComplete(
              (lease, err) -> {
                if (err != null) {
                  next.cancel(false);
                }
              });
        });
    return result;
  }

  /**
   * An acquirer that retained a session with no worker to lease yet: a pending one, or a parked
   * one, whose resume it asks for (the allocator starts it once, for all of them).
   */
  private CompletableFuture<SessionLease> awaitRetained(
      Session s, int held, long startNanos, long deadlineNanos, Duration budget) {
    if (!Session.parked(held)) {
      return awaitWorker(s, s.ready, startNanos, deadlineNanos, budget, false);
    }
    AtomicReference<CompletableFuture<PooledWorker>> wake = new AtomicReference<>();
    apply(allocator.wake(s, ticker.read(), wake));
    return awaitWorker(s, wake.get(), startNanos, deadlineNanos, budget, false);
  }

  /** One acquirer's wait for a pending or parked session's worker, bounded by its deadline. */
  private CompletableFuture<SessionLease> awaitWorker(
      Session s,
      CompletableFuture<PooledWorker> worker,
      long startNanos,
      long deadlineNanos,
      Duration budget,
      boolean first) {
    CompletableFuture<SessionLease> result = new CompletableFuture<>();
    Scheduler.Task deadline =
        timers.at(
            deadlineNanos,
            () -> {
              counters.acquireTimeouts.increment(); // before the acquirer can observe its failure
              if (result.completeExceptionally(timeoutError(s.key, budget))) {
                release(s);
              } else {
                counters.acquireTimeouts.decrement(); // it got its worker after all
              }
            });
    worker.whenComplete(
        (w, err) -> {
          deadline.cancel();
          if (err != null) {
            result.completeExceptionally(EffectRunner.unwrap(err));
            return;
          }
          Lease lease = new Lease(this, s, w, ticker.read() - startNanos, first);
          if (!result.complete(lease)) {
            lease.discard(); // the acquirer gave up and released its hold already
          }
        });
    result.whenComplete(
        (l, err) -> {
          if (err instanceof CancellationException) {
            deadline.cancel();
            release(s);
          }
        });
    return result;
  }

  // ---------------------------------------------------------------- release and end

  /** A lease closed or an acquirer gave up. Hot path. */
  void release(Session s) {
    int left = s.release(ticker.read());
    if (left == 0) {
      if (s.worker == null) {
        apply(allocator.withdraw(s)); // pending: every acquirer gave up
      } else if (s.isParked()) {
        timers.armExpiry(s); // its TTL runs on while it is suspended
        apply(allocator.withdrawResume(s, ticker.read())); // every acquirer gave up waiting
      } else {
        timers.armExpiry(s);
        // Read after the count dropped, which the allocator's eviction search relies on (see
        // Allocator.evictForWaiters): a waiter queued meanwhile is seen here, or sees this session
        // idle.
        if (config.evictIdleOnPressure() && allocator.queuedGauge() > 0) {
          apply(allocator.rebalance(ticker.read())); // evictable now, for a waiter
        }
      }
    }
  }

  /** Carries out an allocator decision; see {@link EffectRunner}. */
  private void apply(Effects fx) {
    runner.apply(fx);
  }

  @Override
  public boolean end(String key) {
    Session s = sessions.get(key);
    if (s == null) {
      return false;
    }
    int holders = s.end();
    if (holders == Session.ENDED) {
      return false;
    }
    apply(allocator.sessionEnded(s, SessionEndReason.RELEASED, holders, ticker.read()));
    return true;
  }

  @Override
  public boolean drain(String workerId) {
    Objects.requireNonNull(workerId, "workerId");
    boolean[] found = new boolean[1];
    apply(allocator.drain(workerId, found, ticker.read()));
    return found[0];
  }

  // ---------------------------------------------------------------- observation

  @Override
  public void addListener(PoolListener listener) {
    runner.listeners.add(listener);
  }

  @Override
  public void removeListener(PoolListener listener) {
    runner.listeners.remove(listener);
  }

  @Override
  public PoolStats stats() {
    return counters.stats(allocator);
  }

  @Override
  public List<SessionInfo> sessions() {
    long now = ticker.read();
    List<SessionInfo> out = new ArrayList<>();
    for (Session s : sessions.values()) {
      PooledWorker w = s.worker;
      if (w == null || s.isEnded()) {
        continue;
      }
      int holders = s.holders();
      Duration idleFor = holders > 0 ? Duration.ZERO : Duration.ofNanos(now - s.lastReleaseNanos());
      SuspendedWorker saved = s.saved;
      long suspendedSince = s.suspendedSinceNanos;
      out.add(
          new SessionInfo(
              s.key,
              saved != null ? saved.workerId() : w.worker.id(),
              saved != null ? OptionalLong.empty() : w.worker.pid(),
              Duration.ofNanos(now - s.createdNanos),
              idleFor,
              holders,
              saved != null
                  ? Optional.of(Duration.ofNanos(Math.max(0, now - suspendedSince)))
                  : Optional.empty()));
    }
    return out;
  }

  @Override
  public List<WorkerInfo> workers() {
    return allocator.workerInfos();
  }

  /** The allocator, for tests in this package that check its invariants. */
  Allocator allocator() {
    return allocator;
  }

  /** The session of {@code key} in the map, ended or not, for tests in this package. */
  Session session(String key) {
    return sessions.get(key);
  }

  // ---------------------------------------------------------------- shutdown

  @Override
  public void close() {
    CompletableFuture<Void> done = shutdown();
    boolean interrupted = false;
    for (; ; ) {
      try {
        done.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException | CancellationException e) {
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Begins the shutdown without waiting: the returned future completes once every worker, those
   * whose spawn was in progress included, has exited. Idempotent.
   */
  CompletableFuture<Void> shutdown() {
    CompletableFuture<Void> terminated = runner.terminated;
    if (!closing.compareAndSet(false, true)) {
      return terminated;
    }
    closed = true;
    runner.stopTimers();
    log.info("pool {} shutting down", config.name());
    terminated.whenComplete(
        (v, e) -> {
          if (ownTimer != null) {
            ownTimer.shutdown();
          }
          log.info("pool {} closed", config.name());
        });
    apply(allocator.close(ticker.read()));
    return terminated;
  }

  // ---------------------------------------------------------------- messages

  private AcquireTimeoutException timeoutError(String key, Duration waited) {
    Throwable spawnError = allocator.lastSpawnError();
    return new AcquireTimeoutException(
        "no worker for session '"
            + key
            + "' within "
            + waited
            + " (pool "
            + config.name()
            + ": "
            + allocator.queuedGauge()
            + " sessions queued, "
            + allocator.busyGauge()
            + " of max "
            + config.max()
            + " workers busy, "
            + allocator.startingGauge()
            + " starting, "
            + allocator.stoppingGauge()
            + " stopping"
            + (spawnError == null ? "" : "; last spawn error: " + spawnError.getMessage())
            + ")",
        spawnError);
  }

  private PoolClosedException closedError() {
    return new PoolClosedException("pool " + config.name() + " is closed");
  }

  private static RuntimeException propagate(Throwable cause) {
    Throwable t = EffectRunner.unwrap(cause);
    if (t instanceof RuntimeException) {
      return (RuntimeException) t;
    }
    if (t instanceof Error) {
      throw (Error) t;
    }
    return new HerdException(t.getMessage(), t);
  }

  @Override
  public String toString() {
    return "LocalSessionPool{" + config.name() + ", " + stats() + "}";
  }
}
