package io.herd.core.local;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.HerdException;
import io.herd.core.PoolClosedException;
import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.Scheduler;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Ticker;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.WorkerInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
 *   spawn done, exit, health ──▶ {@link Allocator} (lock; decides, returns {@link Effects})
 *        ▲  {@link WorkerMonitor}            │
 *        │                                  ▼
 *   {@link SessionTimers} (TTL, maxLifetime, deadlines) ◀── {@link #apply}: stop/spawn workers,
 *                                             directory, listeners, futures — no lock held
 * </pre>
 *
 * <p><b>Hot path, no lock.</b> {@link #acquire(String)} of a pinned key is a {@link
 * ConcurrentHashMap} read and one compare-and-set on the session's holder count ({@link
 * Session}); closing the lease is a compare-and-set on the lease and one on the session. No lock,
 * no shared counter, so threads working on different keys never touch the same cache line.
 *
 * <p><b>Decide under the lock, act after it.</b> Everything that moves workers between sessions is
 * decided by the {@link Allocator} under its lock and returned as {@link Effects}; {@link #apply}
 * carries them out with no lock held, in a fixed order (see {@link Effects}). No future is
 * completed, no listener called and no process started or stopped under the lock.
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
 * <p><b>Time</b> is read from the injected {@link Ticker} and every timer runs on the injected
 * {@link Scheduler} (by default {@link System#nanoTime()} and one daemon thread the pool owns), so
 * tests run TTLs, deadlines and backoff in virtual time.
 *
 * <p>Callbacks chained on the futures this pool returns may run on pool threads; do heavy work with
 * the {@code ...Async} variants and an executor of your own.
 */
public final class LocalSessionPool implements SessionPool {

  private static final Logger log = LoggerFactory.getLogger(LocalSessionPool.class);

  private final PoolConfig config;
  private final WorkerFactory factory;
  private final SessionDirectory directory;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final DaemonTimer ownTimer;
  private final String owner;
  private final long acquireTimeoutNanos;

  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final Allocator allocator;
  private final SessionTimers timers;
  private final WorkerMonitor monitor;
  private final PoolCounters counters = new PoolCounters();
  private final ListenerSet listeners = new ListenerSet();

  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private volatile Scheduler.Task retryTask;

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
    this.factory = Objects.requireNonNull(factory, "factory");
    this.directory = Objects.requireNonNull(directory, "directory");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.ownTimer = scheduler == null ? new DaemonTimer("herd-" + config.name() + "-timer") : null;
    this.scheduler = scheduler != null ? scheduler : ownTimer;
    this.owner = config.name() + "@" + ProcessHandle.current().pid();
    this.acquireTimeoutNanos = config.acquireTimeout().toNanos();
    this.allocator = new Allocator(config);
    this.timers = new SessionTimers(config, this.scheduler, ticker, this::timerEnded);
    this.monitor = new WorkerMonitor(config, allocator, this.scheduler, ticker, this::apply);
    listeners.forEach(this.listeners::add);
    monitor.start();
    apply(allocator.rebalance(ticker.read()));
  }

  /** Creates the pool with the system ticker and its own timer thread. */
  public LocalSessionPool(PoolConfig config, WorkerFactory factory, SessionDirectory directory) {
    this(config, factory, directory, Ticker.system(), null, List.of());
  }

  @Override
  public PoolConfig config() {
    return config;
  }

  // ---------------------------------------------------------------- acquire

  @Override
  public CompletableFuture<SessionLease> acquire(String key) {
    Objects.requireNonNull(key, "key");
    Session s = sessions.get(key);
    if (s != null && s.tryRetain()) {
      PooledWorker w = s.worker;
      if (w != null) {
        return CompletableFuture.completedFuture(new Lease(this, s, w, 0, false));
      }
      long now = ticker.read();
      return awaitWorker(s, now, now + acquireTimeoutNanos, config.acquireTimeout(), false);
    }
    long now = ticker.read();
    return acquireSlow(key, now, now + acquireTimeoutNanos, config.acquireTimeout());
  }

  @Override
  public SessionLease acquire(String key, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(key, "key");
    Duration budget =
        timeout.compareTo(config.acquireTimeout()) < 0 ? timeout : config.acquireTimeout();
    long now = ticker.read();
    // One future, failed by the pool's own deadline: no second clock to race against.
    CompletableFuture<SessionLease> f = acquireSlow(key, now, now + budget.toNanos(), budget);
    try {
      return f.get();
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

  /** Everything but the pinned hot path: new sessions, pending ones, ended ones. */
  private CompletableFuture<SessionLease> acquireSlow(
      String key, long startNanos, long deadlineNanos, Duration budget) {
    for (; ; ) {
      Session s = sessions.get(key);
      if (s != null) {
        if (s.tryRetain()) {
          PooledWorker w = s.worker;
          if (w != null) {
            return CompletableFuture.completedFuture(new Lease(this, s, w, 0, false));
          }
          return awaitWorker(s, startNanos, deadlineNanos, budget, false);
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
          awaitWorker(fresh, startNanos, deadlineNanos, budget, true);
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
                  result.completeExceptionally(unwrap(err));
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

  /** One acquirer's wait for a pending session's worker, bounded by its deadline. */
  private CompletableFuture<SessionLease> awaitWorker(
      Session s, long startNanos, long deadlineNanos, Duration budget, boolean first) {
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
    s.ready.whenComplete(
        (w, err) -> {
          deadline.cancel();
          if (err != null) {
            result.completeExceptionally(unwrap(err));
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
      } else {
        timers.armExpiry(s);
        if (config.evictIdleOnPressure() && allocator.queuedGauge() > 0) {
          apply(allocator.rebalance(ticker.read())); // evictable now, for a waiter
        }
      }
    }
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

  /** A timer won a session's compare-and-set to ENDED. */
  private void timerEnded(Session s, SessionEndReason reason, int holdersBefore) {
    apply(allocator.sessionEnded(s, reason, holdersBefore, ticker.read()));
  }

  // ---------------------------------------------------------------- effects (no lock held)

  /**
   * Carries out an allocator decision, in the order {@link Effects} declares. Must be called
   * without holding the allocator's lock. Reentrant: an effect may lead to more decisions (a
   * confirmation, an exit already complete, a callback that acquires), which are applied at once.
   */
  void apply(Effects fx) {
    for (PooledWorker w : fx.joined) {
      counters.spawns.increment();
      log.info("worker {} started at {}", w.id, w.worker.address());
      listeners.emit(l -> l.workerStarted(w.worker));
    }
    for (PooledWorker w : fx.toWatch) {
      monitor.watch(w);
    }
    for (Effects.WorkerEnd e : fx.workerEnds) {
      reportWorkerEnd(e);
    }
    for (Effects.SpawnFailure f : fx.spawnFailures) {
      counters.spawnFailures.increment();
      log.warn("worker {} failed to start: {}", f.worker().id, f.error().getMessage());
      listeners.emit(l -> l.spawnFailed(f.worker().id, f.error()));
    }
    for (Session s : fx.ended) {
      reportEnded(s);
    }
    if (fx.queueRejections > 0) {
      counters.queueRejections.add(fx.queueRejections);
    }
    for (Effects.Failure f : fx.failed) {
      gone(f.session());
      f.session().ready.completeExceptionally(f.error());
    }
    for (PooledWorker w : fx.toStop) {
      stop(w);
    }
    for (Session s : fx.toActivate) {
      activate(s);
    }
    for (Session s : fx.ready) {
      timers.activated(s);
      s.ready.complete(s.worker);
    }
    for (PooledWorker w : fx.toCheck) {
      monitor.checkBeforeReuse(w);
    }
    for (PooledWorker w : fx.toSpawn) {
      spawn(w);
    }
    if (fx.retryInNanos >= 0) {
      retryTask =
          scheduler.schedule(
              () -> apply(allocator.retryDue(ticker.read())),
              fx.retryInNanos,
              TimeUnit.NANOSECONDS);
    }
    if (fx.terminated) {
      terminated.complete(null);
    }
  }

  /** Announces a session handed a worker, then confirms it with the allocator. */
  private void activate(Session s) {
    PooledWorker w = s.assigned; // written under the lock before this effect was returned
    SessionBinding b = new SessionBinding(s.key, w.worker.id(), w.worker.address(), owner);
    s.binding = b;
    try {
      directory
          .bind(b)
          .ifPresent(other -> log.warn("session {} is also bound to {}", s.key, other));
    } catch (RuntimeException e) {
      log.warn("session directory failed to bind {}", b, e);
    }
    counters.activeSessions.increment();
    log.debug("session {} pinned to worker {}", s.key, w.id);
    listeners.emit(l -> l.sessionStarted(s.key, w.worker));
    apply(allocator.confirm(s, ticker.read()));
  }

  /** Reports the end of an announced session, then lets its key start anew. */
  private void reportEnded(Session s) {
    timers.cancel(s);
    SessionBinding b = s.binding;
    try {
      directory.unbind(b);
    } catch (RuntimeException e) {
      log.warn("session directory failed to unbind {}", b, e);
    }
    SessionEndReason reason = s.endReason;
    switch (reason) {
      case EXPIRED -> counters.expirations.increment();
      case EVICTED -> counters.evictions.increment();
      default -> {}
    }
    counters.activeSessions.decrement();
    Worker worker = s.assigned.worker;
    log.debug("session {} ended ({}), worker {}", s.key, reason, worker.id());
    listeners.emit(l -> l.sessionEnded(s.key, worker, reason));
    gone(s);
    if (!s.ready.isDone()) {
      s.ready.completeExceptionally(
          new SessionEndedException(
              "session '"
                  + s.key
                  + "' ended ("
                  + reason
                  + ") before its first lease"
                  + (reason == SessionEndReason.CRASHED
                      ? ": its worker " + worker.id() + " exited"
                      : "")
                  + "; acquire again to start a new session"));
    }
  }

  /** The session leaves the map; acquirers waiting to start the key anew may go on. */
  private void gone(Session s) {
    sessions.remove(s.key, s);
    s.gone.complete(null);
  }

  private void reportWorkerEnd(Effects.WorkerEnd e) {
    Worker worker = e.worker().worker;
    if (e.crashed()) {
      counters.crashes.increment();
      log.warn("worker {} crashed: {}", worker.id(), e.exit());
      listeners.emit(l -> l.workerCrashed(worker, e.exit()));
    } else {
      log.info("worker {} stopped: {}", worker.id(), e.exit());
      listeners.emit(l -> l.workerStopped(worker, e.exit()));
    }
  }

  private void spawn(PooledWorker w) {
    CompletableFuture<Worker> f;
    try {
      f = factory.spawn(w.id);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (worker, err) -> {
          if (err == null && worker == null) {
            err = new HerdException("worker factory completed spawn " + w.id + " with null");
          }
          apply(
              err != null
                  ? allocator.spawnFailed(w, unwrap(err), ticker.read())
                  : allocator.spawned(w, worker, ticker.read()));
        });
  }

  private static void stop(PooledWorker w) {
    try {
      w.worker.stop();
    } catch (RuntimeException e) {
      log.warn("stopping worker {} failed", w.id, e);
    }
  }

  // ---------------------------------------------------------------- observation

  @Override
  public void addListener(PoolListener listener) {
    listeners.add(listener);
  }

  @Override
  public void removeListener(PoolListener listener) {
    listeners.remove(listener);
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
      out.add(
          new SessionInfo(
              s.key,
              w.worker.id(),
              w.worker.pid(),
              Duration.ofNanos(now - s.createdNanos),
              idleFor,
              holders));
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
    if (!closing.compareAndSet(false, true)) {
      return terminated;
    }
    closed = true;
    monitor.stop();
    Scheduler.Task retry = retryTask;
    if (retry != null) {
      retry.cancel();
    }
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

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static RuntimeException propagate(Throwable cause) {
    Throwable t = unwrap(cause);
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
