package io.herd.core.local;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.HerdException;
import io.herd.core.PoolClosedException;
import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.QueueFullException;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import io.herd.core.WorkerInfo;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-process {@link SessionPool}.
 *
 * <h2>Design</h2>
 *
 * <p><b>Hot path.</b> {@link #acquire(String)} of a pinned key is a {@link ConcurrentHashMap} read
 * and one compare-and-set on the session's holder count ({@link Session}); closing the lease is a
 * compare-and-set on the lease and one on the session. No lock, no shared counter, so threads
 * working on different keys never touch the same cache line.
 *
 * <p><b>Allocator.</b> Everything that moves workers between sessions — the idle set, the FIFO
 * queue of pending sessions, the count of starting spawns, spawn backoff — is guarded by one
 * {@link ReentrantLock}. It is taken only when a session starts or ends, a spawn completes or a
 * worker dies, and is held for a few field updates: decisions are recorded in {@link Effects} and
 * carried out after unlocking, so no future is completed, no listener called and no process started
 * under the lock.
 *
 * <p><b>Invariants</b> (checked by the stress tests): a key maps to at most one live session; a
 * session has at most one worker, assigned once; a worker serves at most one session and is reused
 * only after that session ended and nobody holds a lease on it (a worker whose session ends with
 * leases open is stopped, never reused); {@code idle + busy + starting <= max}.
 *
 * <p><b>Singleflight.</b> The first acquirer of a key inserts a pending session with {@code
 * putIfAbsent}; every concurrent acquirer retains that same session and waits on its {@code ready}
 * future, so exactly one worker is assigned or spawned.
 *
 * <p><b>Expiry.</b> When a session's last lease closes, one timer task is scheduled (unless one is
 * already outstanding) for when its TTL would run out; the task ends the session only if it is still
 * idle, with a compare-and-set from zero holders, so expiry never races a new lease. Work is per
 * idle session, never a scan of all sessions.
 *
 * <p>Callbacks chained on the futures this pool returns may run on pool threads; do heavy work with
 * the {@code ...Async} variants and an executor of your own.
 */
public final class LocalSessionPool implements SessionPool {

  private static final Logger log = LoggerFactory.getLogger(LocalSessionPool.class);

  private final PoolConfig config;
  private final WorkerFactory factory;
  private final SessionDirectory directory;
  private final String owner;
  private final long ttlNanos;
  private final long acquireTimeoutNanos;

  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final ListenerSet listeners = new ListenerSet();
  private final ScheduledThreadPoolExecutor timer;
  private final AtomicBoolean maintenanceRunning = new AtomicBoolean();
  private final Set<CompletableFuture<Worker>> spawnsInFlight = ConcurrentHashMap.newKeySet();

  private final LongAdder spawns = new LongAdder();
  private final LongAdder spawnFailures = new LongAdder();
  private final LongAdder crashes = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder expirations = new LongAdder();
  private final LongAdder acquireTimeouts = new LongAdder();
  private final LongAdder queueRejections = new LongAdder();
  /** Sessions activated minus sessions reported ended; may lag an event behind. */
  private final LongAdder activeSessions = new LongAdder();

  private final ReentrantLock lock = new ReentrantLock();
  /** Idle workers, most recently freed last. Guarded by {@link #lock}. */
  private final ArrayDeque<PooledWorker> idle = new ArrayDeque<>();
  /** Pending sessions in arrival order. Guarded by {@link #lock}. */
  private final LinkedHashSet<Session> queue = new LinkedHashSet<>();
  /** Workers counted against max: IDLE, BUSY, CHECKING. Guarded by {@link #lock}. */
  private final LinkedHashSet<PooledWorker> live = new LinkedHashSet<>();
  /** Guarded by {@link #lock}. */
  private int starting;
  /** Guarded by {@link #lock}. */
  private int checking;
  /** Guarded by {@link #lock}. */
  private long workerSequence;
  /** Guarded by {@link #lock}. */
  private boolean retryScheduled;
  /** Guarded by {@link #lock}. */
  private final SpawnBackoff backoff;

  /** Written under {@link #lock}, read anywhere. */
  private volatile boolean closed;

  // Gauges mirrored from the guarded state at the end of every locked section, for stats().
  private volatile int idleGauge;
  private volatile int busyGauge;
  private volatile int startingGauge;
  private volatile int queuedGauge;

  /** Creates the pool and starts filling it to {@code min} and {@code warm}. */
  public LocalSessionPool(PoolConfig config, WorkerFactory factory, SessionDirectory directory) {
    this.config = Objects.requireNonNull(config, "config");
    this.factory = Objects.requireNonNull(factory, "factory");
    this.directory = Objects.requireNonNull(directory, "directory");
    this.owner = config.name() + "@" + ProcessHandle.current().pid();
    this.ttlNanos = config.ttl().toNanos();
    this.acquireTimeoutNanos = config.acquireTimeout().toNanos();
    this.backoff = new SpawnBackoff(config.spawnBackoffInitial(), config.spawnBackoffMax());
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "herd-" + config.name() + "-timer");
              t.setDaemon(true);
              return t;
            });
    timer.setRemoveOnCancelPolicy(true);
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    long interval = config.healthInterval().toNanos();
    timer.scheduleWithFixedDelay(this::maintain, interval, interval, TimeUnit.NANOSECONDS);
    rebalanceNow();
  }

  @Override
  public PoolConfig config() {
    return config;
  }

  // ---------------------------------------------------------------- acquire

  @Override
  public CompletableFuture<SessionLease> acquire(String key) {
    Objects.requireNonNull(key, "key");
    for (; ; ) {
      Session s = sessions.get(key);
      if (s != null) {
        if (s.tryRetain()) {
          PooledWorker w = s.worker;
          if (w != null) {
            return CompletableFuture.completedFuture(new Lease(this, s, w, 0, false));
          }
          return awaitWorker(s, System.nanoTime(), false);
        }
        sessions.remove(key, s); // ended, on its way out: help, then start anew
        continue;
      }
      if (closed) {
        return CompletableFuture.failedFuture(closedError());
      }
      long now = System.nanoTime();
      Session fresh = new Session(key, now);
      if (sessions.putIfAbsent(key, fresh) != null) {
        continue;
      }
      CompletableFuture<SessionLease> result = awaitWorker(fresh, now, true);
      enqueue(fresh);
      return result;
    }
  }

  @Override
  public SessionLease acquire(String key, Duration timeout) throws InterruptedException {
    CompletableFuture<SessionLease> f = acquire(key);
    try {
      return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      if (f.cancel(false)) {
        acquireTimeouts.increment();
        throw new AcquireTimeoutException(timeoutMessage(key, timeout), lastSpawnError());
      }
      return f.join(); // completed while we gave up: take what it has
    } catch (InterruptedException e) {
      if (!f.cancel(false)) {
        f.thenAccept(SessionLease::close);
      }
      Thread.currentThread().interrupt();
      throw e;
    } catch (ExecutionException e) {
      throw propagate(e.getCause());
    } catch (CompletionException e) {
      throw propagate(e.getCause());
    }
  }

  /** One acquirer's wait for a pending session's worker, bounded by the acquire timeout. */
  private CompletableFuture<SessionLease> awaitWorker(Session s, long startNanos, boolean first) {
    CompletableFuture<SessionLease> result = new CompletableFuture<>();
    ScheduledFuture<?> deadline =
        schedule(
            () -> {
              AcquireTimeoutException timeout =
                  new AcquireTimeoutException(
                      timeoutMessage(s.key, config.acquireTimeout()), lastSpawnError());
              acquireTimeouts.increment(); // before the acquirer can observe its failure
              if (result.completeExceptionally(timeout)) {
                release(s);
              } else {
                acquireTimeouts.decrement(); // it got its worker after all
              }
            },
            acquireTimeoutNanos);
    if (deadline == null) {
      release(s);
      return CompletableFuture.failedFuture(closedError());
    }
    s.ready.whenComplete(
        (w, err) -> {
          deadline.cancel(false);
          if (err != null) {
            result.completeExceptionally(unwrap(err));
            return;
          }
          Lease lease = new Lease(this, s, w, System.nanoTime() - startNanos, first);
          if (!result.complete(lease)) {
            lease.discard(); // the acquirer gave up and released its hold already
          }
        });
    result.whenComplete(
        (l, err) -> {
          if (err instanceof CancellationException) {
            deadline.cancel(false);
            release(s);
          }
        });
    return result;
  }

  /** Puts a new pending session to a worker: an idle one, a spawn, or the queue. */
  private void enqueue(Session s) {
    Effects fx = new Effects();
    lock.lock();
    try {
      if (closed) {
        s.end();
        fx.fail(s, closedError());
      } else if (!idle.isEmpty()) {
        handoff(idle.pollLast(), s, fx);
      } else if (uncoveredWaiters() >= config.maxQueue()) {
        s.end();
        queueRejections.increment();
        fx.fail(s, new QueueFullException(queueFullMessage(s.key)));
      } else {
        s.queued = true;
        queue.add(s);
      }
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    apply(fx);
  }

  /**
   * Queued sessions beyond those that starting spawns, workers being recycled and free slots below
   * max will serve: the ones really waiting on other sessions to end. Guarded by {@link #lock}.
   */
  private int uncoveredWaiters() {
    int freeSlots = config.max() - live.size() - starting;
    return queue.size() - starting - checking - Math.max(0, freeSlots);
  }

  // ---------------------------------------------------------------- release and end

  /** A lease closed or an acquirer gave up. Hot path. */
  void release(Session s) {
    int left = s.release(System.nanoTime());
    if (left == 0) {
      if (s.worker == null) {
        withdraw(s);
      } else {
        scheduleExpiry(s, ttlNanos);
        if (config.evictIdleOnPressure() && queuedGauge > 0) {
          rebalanceNow(); // the session just became evictable for a waiter
        }
      }
    }
  }

  /** Every acquirer of a pending session gave up: take it out of the queue. */
  private void withdraw(Session s) {
    boolean removed = false;
    lock.lock();
    try {
      if (s.queued && s.endIfIdle()) {
        queue.remove(s);
        s.queued = false;
        removed = true;
        publishGauges();
      }
    } finally {
      lock.unlock();
    }
    if (removed) {
      sessions.remove(s.key, s);
      s.ready.completeExceptionally(new HerdException("session '" + s.key + "' withdrawn"));
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
    finishEnd(s, holders, SessionEndReason.RELEASED);
    return true;
  }

  /**
   * Completes the end of a session its caller has just moved to ENDED: unpins the key, frees or
   * stops the worker, reports the event.
   *
   * @param holdersBefore leases open when it ended; with any open the worker is stopped
   */
  private void finishEnd(Session s, int holdersBefore, SessionEndReason reason) {
    sessions.remove(s.key, s);
    Effects fx = new Effects();
    PooledWorker w = null;
    boolean pending = false;
    lock.lock();
    try {
      if (s.queued) {
        queue.remove(s);
        s.queued = false;
        pending = true;
      } else if (s.worker != null) {
        w = s.worker;
        if (w.session == s && w.state == PooledWorker.State.BUSY) {
          detach(w, holdersBefore > 0, fx);
        }
      } else {
        pending = true;
      }
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    if (pending) {
      s.ready.completeExceptionally(
          new HerdException("session '" + s.key + "' was ended before a worker was assigned"));
    } else if (w != null) {
      reportEnded(s, w, reason);
    }
    apply(fx);
  }

  private void reportEnded(Session s, PooledWorker w, SessionEndReason reason) {
    s.cancelTimers();
    SessionBinding b = s.binding;
    if (b != null) {
      directory.unbind(b);
    }
    activeSessions.decrement();
    log.debug("session {} ended ({}), worker {}", s.key, reason, w.worker.id());
    listeners.emit(l -> l.sessionEnded(s.key, w.worker, reason));
  }

  // ---------------------------------------------------------------- allocator (under lock)

  /** Pins {@code w} to pending session {@code s}. Guarded by {@link #lock}. */
  private void handoff(PooledWorker w, Session s, Effects fx) {
    s.queued = false;
    w.state = PooledWorker.State.BUSY;
    w.session = s;
    w.sessionsServed++;
    s.worker = w;
    fx.activated.add(s);
  }

  /** The oldest queued session that has not ended, or null. Guarded by {@link #lock}. */
  private Session pollQueue() {
    Iterator<Session> it = queue.iterator();
    while (it.hasNext()) {
      Session s = it.next();
      it.remove();
      s.queued = false;
      if (!s.isEnded()) {
        return s;
      }
    }
    return null;
  }

  /** A ready worker: to the first waiter, or to the idle set. Guarded by {@link #lock}. */
  private void offer(PooledWorker w, Effects fx) {
    Session s = pollQueue();
    if (s != null) {
      handoff(w, s, fx);
    } else {
      w.state = PooledWorker.State.IDLE;
      w.idleSinceNanos = System.nanoTime();
      idle.addLast(w);
    }
  }

  /** Frees a worker whose session ended: recycle it, or stop it. Guarded by {@link #lock}. */
  private void detach(PooledWorker w, boolean mustStop, Effects fx) {
    w.session = null;
    int perWorker = config.maxSessionsPerWorker();
    boolean reuse =
        !mustStop && !closed && config.reuse() && (perWorker == 0 || w.sessionsServed < perWorker);
    if (reuse) {
      w.state = PooledWorker.State.CHECKING;
      checking++;
      fx.toCheck.add(w);
    } else {
      retire(w, fx);
    }
  }

  /** Takes a live worker out of the count and stops it. Guarded by {@link #lock}. */
  private void retire(PooledWorker w, Effects fx) {
    if (w.state == PooledWorker.State.IDLE) {
      idle.remove(w);
    } else if (w.state == PooledWorker.State.CHECKING) {
      checking--;
    }
    live.remove(w);
    w.state = PooledWorker.State.STOPPING;
    fx.toStop.add(w);
  }

  /**
   * Hands idle workers to waiters, evicts idle sessions for waiters when allowed, and starts the
   * spawns needed for waiters, {@code min} and {@code warm} within {@code max} and the spawn
   * backoff. Guarded by {@link #lock}.
   */
  private void rebalance(Effects fx) {
    if (!closed) {
      while (!idle.isEmpty() && !queue.isEmpty()) {
        Session s = pollQueue();
        if (s != null) {
          handoff(idle.pollLast(), s, fx);
        }
      }
      if (config.evictIdleOnPressure()) {
        evictForWaiters(fx);
      }
      int demand = (live.size() - idle.size()) + queue.size() + config.warm();
      int target = Math.min(config.max(), Math.max(config.min(), demand));
      int missing = target - live.size() - starting;
      if (missing > 0) {
        long wait = backoff.remainingNanos(System.nanoTime());
        if (wait > 0) {
          scheduleRetry(wait);
        } else {
          if (backoff.failing()) {
            missing = Math.min(missing, 1 - starting); // probe with one spawn while failing
          }
          for (int i = 0; i < missing; i++) {
            starting++;
            fx.toSpawn.add("w-" + (++workerSequence));
          }
        }
      }
    }
    publishGauges();
  }

  /** At max, ends least recently used idle sessions for uncovered waiters. Under {@link #lock}. */
  private void evictForWaiters(Effects fx) {
    while (live.size() + starting >= config.max() && queue.size() > starting + checking) {
      PooledWorker victim = null;
      long oldest = Long.MAX_VALUE;
      for (PooledWorker w : live) {
        Session s = w.session;
        if (w.state == PooledWorker.State.BUSY
            && s != null
            && s.holders() == 0
            && s.lastReleaseNanos() < oldest) {
          victim = w;
          oldest = s.lastReleaseNanos();
        }
      }
      if (victim == null || !victim.session.endIfIdle()) {
        return; // nothing evictable now; a lease that closes will rebalance again
      }
      evictions.increment();
      fx.evicted.add(victim.session);
      detach(victim, false, fx);
    }
  }

  private void scheduleRetry(long delayNanos) {
    if (!retryScheduled) {
      retryScheduled = true;
      schedule(this::retrySpawns, delayNanos);
    }
  }

  private void retrySpawns() {
    lock.lock();
    try {
      retryScheduled = false;
    } finally {
      lock.unlock();
    }
    rebalanceNow();
  }

  private void rebalanceNow() {
    Effects fx = new Effects();
    lock.lock();
    try {
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    apply(fx);
  }

  /** Guarded by {@link #lock}. */
  private void publishGauges() {
    idleGauge = idle.size();
    busyGauge = live.size() - idle.size();
    startingGauge = starting;
    queuedGauge = queue.size();
  }

  // ---------------------------------------------------------------- effects (no lock held)

  /** Carries out decisions taken under the lock. Must be called without holding it. */
  void apply(Effects fx) {
    for (PooledWorker w : fx.toStop) {
      w.worker.stop();
    }
    for (int i = 0; i < fx.failed.size(); i++) {
      Session s = fx.failed.get(i);
      sessions.remove(s.key, s);
      s.ready.completeExceptionally(fx.failures.get(i));
    }
    for (Session s : fx.evicted) {
      sessions.remove(s.key, s);
      PooledWorker w = s.worker;
      reportEnded(s, w, SessionEndReason.EVICTED);
    }
    for (Session s : fx.activated) {
      activate(s);
    }
    for (PooledWorker w : fx.toCheck) {
      w.worker
          .checkHealth(config.healthTimeout())
          .whenComplete((ok, err) -> afterRecycleCheck(w, Boolean.TRUE.equals(ok)));
    }
    for (String id : fx.toSpawn) {
      spawn(id);
    }
  }

  private void activate(Session s) {
    PooledWorker w = s.worker;
    SessionBinding b = new SessionBinding(s.key, w.worker.id(), w.worker.address(), owner);
    s.binding = b;
    directory
        .bind(b)
        .ifPresent(other -> log.warn("session {} is also bound to {}", s.key, other));
    activeSessions.increment();
    log.debug("session {} pinned to worker {}", s.key, w.worker.id());
    listeners.emit(l -> l.sessionStarted(s.key, w.worker));
    // Covers acquirers that all gave up while the worker was on its way.
    scheduleExpiry(s, ttlNanos);
    config
        .maxLifetime()
        .ifPresent(
            max ->
                s.lifetimeTask =
                    schedule(
                        () -> endAtMaxLifetime(s),
                        s.createdNanos + max.toNanos() - System.nanoTime()));
    s.ready.complete(w);
  }

  private void afterRecycleCheck(PooledWorker w, boolean healthy) {
    Effects fx = new Effects();
    boolean crashed = false;
    lock.lock();
    try {
      if (w.state != PooledWorker.State.CHECKING) {
        return; // died or was stopped meanwhile
      }
      if (healthy && !closed) {
        checking--;
        offer(w, fx);
      } else {
        retire(w, fx);
        crashed = !closed;
        w.crashReported = crashed;
      }
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    if (crashed) {
      crashes.increment();
      WorkerExit exit =
          new WorkerExit(OptionalInt.empty(), false, "failed its health check after a session");
      log.warn("worker {} removed: {}", w.worker.id(), exit);
      listeners.emit(l -> l.workerCrashed(w.worker, exit));
    }
    apply(fx);
  }

  private void spawn(String id) {
    CompletableFuture<Worker> f;
    try {
      f = factory.spawn(id);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Worker> spawn = f;
    spawnsInFlight.add(spawn);
    spawn.whenComplete(
        (worker, err) -> {
          if (err != null) {
            onSpawnFailed(id, unwrap(err));
          } else {
            onSpawned(worker);
          }
          spawnsInFlight.remove(spawn);
        });
  }

  private void onSpawned(Worker worker) {
    PooledWorker w = new PooledWorker(worker, System.nanoTime());
    Effects fx = new Effects();
    boolean stop = false;
    lock.lock();
    try {
      starting--;
      backoff.recordSuccess();
      if (closed) {
        stop = true;
      } else {
        spawns.increment();
        live.add(w);
        offer(w, fx);
      }
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    if (stop) {
      w.state = PooledWorker.State.STOPPING;
      worker.stop();
      return;
    }
    log.info("worker {} started at {}", worker.id(), worker.address());
    listeners.emit(l -> l.workerStarted(worker));
    worker.onExit().whenComplete((exit, err) -> onWorkerExit(w, exit, err));
    apply(fx);
  }

  private void onSpawnFailed(String id, Throwable error) {
    spawnFailures.increment();
    Effects fx = new Effects();
    lock.lock();
    try {
      starting--;
      backoff.recordFailure(error, System.nanoTime());
      Session waiter = pollQueue();
      if (waiter != null) {
        waiter.end();
        fx.fail(waiter, error);
      }
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    log.warn("worker {} failed to start: {}", id, error.getMessage());
    listeners.emit(l -> l.spawnFailed(id, error));
    apply(fx);
  }

  private void onWorkerExit(PooledWorker w, WorkerExit exit, Throwable err) {
    WorkerExit how =
        exit != null ? exit : new WorkerExit(OptionalInt.empty(), false, String.valueOf(err));
    Effects fx = new Effects();
    PooledWorker.State before;
    boolean wasLive;
    Session s;
    boolean reported;
    lock.lock();
    try {
      before = w.state;
      if (before == PooledWorker.State.DEAD) {
        return;
      }
      if (before == PooledWorker.State.IDLE) {
        idle.remove(w);
      } else if (before == PooledWorker.State.CHECKING) {
        checking--;
      }
      wasLive = live.remove(w);
      w.state = PooledWorker.State.DEAD;
      s = w.session;
      w.session = null;
      reported = w.crashReported;
      w.crashReported = true;
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    boolean crashed = wasLive && !closed;
    if (!reported) {
      if (crashed) {
        crashes.increment();
        log.warn("worker {} crashed: {}", w.worker.id(), how);
        listeners.emit(l -> l.workerCrashed(w.worker, how));
      } else {
        log.info("worker {} stopped: {}", w.worker.id(), how);
        listeners.emit(l -> l.workerStopped(w.worker, how));
      }
    }
    if (s != null && s.end() != Session.ENDED) {
      sessions.remove(s.key, s);
      reportEnded(s, w, SessionEndReason.CRASHED);
    }
    apply(fx);
  }

  // ---------------------------------------------------------------- timers

  private void scheduleExpiry(Session s, long delayNanos) {
    if (s.markExpiryScheduled()) {
      ScheduledFuture<?> task = schedule(() -> checkExpiry(s), delayNanos);
      if (task == null) {
        s.clearExpiryScheduled(); // pool closed
      } else {
        s.expiryTask = task;
      }
    }
  }

  /** Schedules a one-shot task on the pool timer; null once the pool has shut it down. */
  private ScheduledFuture<?> schedule(Runnable task, long delayNanos) {
    try {
      return timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  private void checkExpiry(Session s) {
    s.clearExpiryScheduled(); // before reading holders: a release to zero reschedules
    if (s.isEnded() || s.holders() > 0) {
      return;
    }
    long idleFor = System.nanoTime() - s.lastReleaseNanos();
    if (idleFor < ttlNanos) {
      scheduleExpiry(s, ttlNanos - idleFor);
    } else if (s.endIfIdle()) {
      expirations.increment();
      finishEnd(s, 0, SessionEndReason.EXPIRED);
    }
  }

  private void endAtMaxLifetime(Session s) {
    int holders = s.end();
    if (holders != Session.ENDED) {
      expirations.increment();
      finishEnd(s, holders, SessionEndReason.EXPIRED);
    }
  }

  /** Periodic liveness checks and scale-down; skips a cycle if the last one still runs. */
  private void maintain() {
    if (closed || !maintenanceRunning.compareAndSet(false, true)) {
      return;
    }
    try {
      List<PooledWorker> toProbe = new ArrayList<>();
      Effects fx = new Effects();
      lock.lock();
      try {
        retireSurplusIdle(fx);
        for (PooledWorker w : live) {
          if (w.state == PooledWorker.State.IDLE || w.state == PooledWorker.State.BUSY) {
            toProbe.add(w);
          }
        }
        publishGauges();
      } finally {
        lock.unlock();
      }
      apply(fx);
      CompletableFuture<?>[] probes = new CompletableFuture<?>[toProbe.size()];
      for (int i = 0; i < probes.length; i++) {
        PooledWorker w = toProbe.get(i);
        probes[i] =
            w.worker
                .checkHealth(config.healthTimeout())
                .handle(
                    (ok, err) -> {
                      onHealthResult(w, Boolean.TRUE.equals(ok));
                      return null;
                    });
      }
      CompletableFuture.allOf(probes).whenComplete((v, e) -> maintenanceRunning.set(false));
    } catch (RuntimeException | Error e) {
      log.error("pool {} maintenance failed; will retry next cycle", config.name(), e);
      maintenanceRunning.set(false);
    }
  }

  /** Idle workers beyond {@code warm} and {@code min}, idle for a TTL, stop. Under {@link #lock}. */
  private void retireSurplusIdle(Effects fx) {
    long now = System.nanoTime();
    while (idle.size() > config.warm() && live.size() > config.min()) {
      PooledWorker oldest = idle.peekFirst();
      if (now - oldest.idleSinceNanos < ttlNanos) {
        return;
      }
      retire(oldest, fx);
    }
  }

  private void onHealthResult(PooledWorker w, boolean healthy) {
    if (healthy) {
      w.healthFailures = 0;
      return;
    }
    if (++w.healthFailures < config.healthFailures()) {
      return;
    }
    Effects fx = new Effects();
    Session s;
    lock.lock();
    try {
      if (w.state != PooledWorker.State.IDLE && w.state != PooledWorker.State.BUSY) {
        return;
      }
      s = w.session;
      w.session = null;
      retire(w, fx);
      w.crashReported = true;
      rebalance(fx);
    } finally {
      lock.unlock();
    }
    crashes.increment();
    WorkerExit exit =
        new WorkerExit(
            OptionalInt.empty(),
            false,
            "failed " + w.healthFailures + " consecutive health checks");
    log.warn("worker {} removed: {}", w.worker.id(), exit);
    listeners.emit(l -> l.workerCrashed(w.worker, exit));
    if (s != null && s.end() != Session.ENDED) {
      sessions.remove(s.key, s);
      reportEnded(s, w, SessionEndReason.CRASHED);
    }
    apply(fx);
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
    int idleNow = idleGauge;
    int busyNow = busyGauge;
    int startingNow = startingGauge;
    return new PoolStats(
        idleNow + busyNow + startingNow,
        idleNow,
        busyNow,
        startingNow,
        (int) Math.max(0, activeSessions.sum()),
        queuedGauge,
        spawns.sum(),
        spawnFailures.sum(),
        crashes.sum(),
        evictions.sum(),
        expirations.sum(),
        acquireTimeouts.sum(),
        queueRejections.sum());
  }

  @Override
  public List<SessionInfo> sessions() {
    long now = System.nanoTime();
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
    List<WorkerInfo> out = new ArrayList<>();
    lock.lock();
    try {
      for (PooledWorker w : live) {
        Session s = w.session;
        boolean isIdle = w.state == PooledWorker.State.IDLE;
        out.add(
            new WorkerInfo(
                w.worker.id(),
                w.worker.pid(),
                w.worker.address(),
                isIdle ? WorkerInfo.State.IDLE : WorkerInfo.State.BUSY,
                s == null ? Optional.empty() : Optional.of(s.key),
                w.sessionsServed));
      }
    } finally {
      lock.unlock();
    }
    return out;
  }

  // ---------------------------------------------------------------- shutdown

  @Override
  public void close() {
    Effects fx = new Effects();
    List<PooledWorker> stopping = new ArrayList<>();
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      for (Session s = pollQueue(); s != null; s = pollQueue()) {
        s.end();
        fx.fail(s, closedError());
      }
      for (PooledWorker w : new ArrayList<>(live)) {
        retire(w, fx);
      }
      stopping.addAll(fx.toStop);
      publishGauges();
    } finally {
      lock.unlock();
    }
    log.info("pool {} shutting down: stopping {} workers", config.name(), stopping.size());
    for (Session s : sessions.values()) {
      if (s.end() != Session.ENDED) {
        sessions.remove(s.key, s);
        PooledWorker w = s.worker;
        if (w != null) {
          reportEnded(s, w, SessionEndReason.SHUTDOWN);
        } else {
          s.ready.completeExceptionally(closedError());
        }
      }
    }
    apply(fx);
    // Spawns still in flight stop their worker as soon as they complete (see onSpawned).
    awaitQuietly(CompletableFuture.allOf(spawnsInFlight.toArray(new CompletableFuture<?>[0])));
    List<CompletableFuture<WorkerExit>> exits = new ArrayList<>();
    for (PooledWorker w : stopping) {
      exits.add(w.worker.onExit());
    }
    awaitQuietly(CompletableFuture.allOf(exits.toArray(new CompletableFuture<?>[0])));
    timer.shutdownNow();
    log.info("pool {} closed", config.name());
  }

  private static void awaitQuietly(CompletableFuture<?> f) {
    boolean interrupted = false;
    for (; ; ) {
      try {
        f.get();
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

  // ---------------------------------------------------------------- messages

  private Throwable lastSpawnError() {
    lock.lock();
    try {
      return backoff.lastError();
    } finally {
      lock.unlock();
    }
  }

  private String timeoutMessage(String key, Duration waited) {
    Throwable spawnError = lastSpawnError();
    return "no worker for session '"
        + key
        + "' within "
        + waited
        + " (pool "
        + config.name()
        + ": "
        + queuedGauge
        + " sessions queued, "
        + busyGauge
        + " of max "
        + config.max()
        + " workers busy, "
        + startingGauge
        + " starting"
        + (spawnError == null ? "" : "; last spawn error: " + spawnError.getMessage())
        + ")";
  }

  private String queueFullMessage(String key) {
    return "pool "
        + config.name()
        + " is full: all "
        + config.max()
        + " workers busy and "
        + queue.size()
        + " sessions already queued (pool.maxQueue="
        + config.maxQueue()
        + "); session '"
        + key
        + "' refused, retry later";
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
