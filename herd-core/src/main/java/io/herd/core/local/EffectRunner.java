package io.herd.core.local;

import io.herd.core.HerdException;
import io.herd.core.PoolConfig;
import io.herd.core.Scheduler;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionEndedException;
import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Ticker;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The acting half of the pool: carries out the {@link Allocator}'s decisions ({@link Effects}) with
 * no lock held — spawns and stops workers, writes the {@link SessionDirectory}, tells the
 * listeners, arms and cancels timers, completes the futures acquirers wait on — and feeds what
 * comes back (a spawn completing, a confirmation) to the allocator again. It owns the parts it
 * drives: the {@link SessionTimers}, the {@link WorkerMonitor}, the {@link PoolCounters} and the
 * {@link ListenerSet}.
 *
 * <p><b>Order.</b> {@link #apply} runs an {@link Effects} list by list, in the order declared
 * there, so that listeners hear a worker start before its sessions, a crash before the end of the
 * session it took down, and a session's end before its worker is stopped or handed on.
 *
 * <p><b>A spawned worker</b> is announced ({@code workerStarted}) and only then joins ({@link
 * Allocator#joined}): no other thread can give it a session before the listeners heard of it.
 *
 * <p><b>Activation</b> is two steps around a lock-free announcement: the session is bound in the
 * directory and {@code sessionStarted} is told, then {@link Allocator#confirm} decides whether it
 * is ACTIVE (its acquirers get leases) or ended meanwhile (its end is reported now, after the
 * start, and its acquirers fail with {@link SessionEndedException}).
 *
 * <p><b>Suspension.</b> A parked session's worker is saved through the {@link
 * SuspendableWorkerFactory}; the allocator hears when it is saved ({@link Allocator#suspended}) or
 * failed. A resume is announced like a spawn and an activation together ({@code workerStarted},
 * the new directory binding, {@code sessionResumed}) and then confirmed ({@link
 * Allocator#confirmRestore}); only then do the session's waiting acquirers get leases.
 *
 * <p><b>Ends</b> are reported in one place ({@link #reportEnded}): timers cancelled, binding
 * removed, counters, {@code sessionEnded}; only then does the session leave the pool's map and
 * complete {@link Session#gone}, so the key's next session cannot bind before this one unbinds.
 *
 * <p>Thread-safe and reentrant: it runs on whichever thread made the decision, and an effect may
 * lead to decisions that are applied at once, nested (an exit already complete when it is
 * watched, a callback that acquires). Lifetime: one per pool.
 */
final class EffectRunner {

  private static final Logger log = LoggerFactory.getLogger(LocalSessionPool.class);

  private final Allocator allocator;
  private final WorkerFactory factory;
  private final SessionDirectory directory;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final Map<String, Session> sessions;
  private final String owner;

  final SessionTimers timers;
  final WorkerMonitor monitor;
  final PoolCounters counters = new PoolCounters();
  final ListenerSet listeners = new ListenerSet();

  /** Completes once the pool is closed and its last worker has gone. */
  final CompletableFuture<Void> terminated = new CompletableFuture<>();

  private volatile Scheduler.Task retryTask;

  /**
   * @param sessions the pool's session map, from which ended sessions are removed once reported
   */
  EffectRunner(
      PoolConfig config,
      Allocator allocator,
      Map<String, Session> sessions,
      WorkerFactory factory,
      SessionDirectory directory,
      Ticker ticker,
      Scheduler scheduler) {
    this.allocator = allocator;
    this.sessions = sessions;
    this.factory = factory;
    this.directory = directory;
    this.ticker = ticker;
    this.scheduler = scheduler;
    this.owner = config.name() + "@" + ProcessHandle.current().pid();
    this.timers =
        new SessionTimers(
            config,
            scheduler,
            ticker,
            this::timerEnded,
            s -> apply(allocator.suspend(s, ticker.read())));
    this.monitor = new WorkerMonitor(config, allocator, scheduler, ticker, this::apply);
  }

  /**
   * Carries out an allocator decision, in the order {@link Effects} declares. Must be called
   * without holding the allocator's lock.
   */
  void apply(Effects fx) {
    for (PooledWorker w : fx.joined()) {
      counters.spawns.increment();
      withPid(log.atInfo().addKeyValue("worker", w.id), w.worker)
          .log("worker {} started at {}", w.id, w.worker.address());
      listeners.emit(l -> l.workerStarted(w.worker));
    }
    for (PooledWorker w : fx.toWatch()) {
      monitor.watch(w);
    }
    for (PooledWorker w : fx.joined()) {
      // Announced, and watched (one that died on arrival has just been found crashed): only now
      // may a session have it.
      apply(allocator.joined(w, ticker.read()));
    }
    for (Effects.Suspended e : fx.suspended()) {
      counters.suspensions.increment();
      log.atDebug().addKeyValue("session", e.session().key).addKeyValue("worker", e.worker().id)
          .log("session {} suspended, worker {} saved", e.session().key, e.worker().id);
      listeners.emit(l -> l.sessionSuspended(e.session().key, e.worker().worker));
      // Only now is it SUSPENDED: an end that came meanwhile is reported after the announcement.
      apply(allocator.confirmSuspended(e.session(), ticker.read()));
    }
    for (Effects.WorkerEnd e : fx.workerEnds()) {
      reportWorkerEnd(e);
    }
    for (Effects.SpawnFailure f : fx.spawnFailures()) {
      counters.spawnFailures.increment();
      log.atWarn().addKeyValue("worker", f.worker().id)
          .log("worker {} failed to start: {}", f.worker().id, f.error().getMessage());
      listeners.emit(l -> l.spawnFailed(f.worker().id, f.error()));
    }
    for (Session s : fx.ended()) {
      reportEnded(s);
    }
    if (fx.queueRejections > 0) {
      counters.queueRejections.add(fx.queueRejections);
    }
    for (SuspendedWorker state : fx.toDiscard()) {
      discard(state);
    }
    for (Effects.Failure f : fx.failed()) {
      gone(f.session());
      f.session().ready.completeExceptionally(f.error());
    }
    for (PooledWorker w : fx.toStop()) {
      stop(w);
    }
    for (Effects.Suspension e : fx.toSuspend()) {
      suspend(e.session(), e.worker());
    }
    for (Session s : fx.toActivate()) {
      activate(s);
    }
    for (Effects.Restore e : fx.toRestore()) {
      restore(e.session(), e.worker());
    }
    for (Session s : fx.ready()) {
      timers.activated(s);
      s.ready.complete(s.worker);
    }
    for (Effects.Wake e : fx.woken()) {
      timers.resumed(e.session());
      if (e.wake() != null) {
        e.wake().complete(e.worker());
      }
    }
    for (PooledWorker w : fx.toCheck()) {
      monitor.checkBeforeReuse(w);
    }
    for (PooledWorker w : fx.toSpawn()) {
      spawn(w);
    }
    for (PooledWorker w : fx.toAdmit()) {
      w.mayStart.complete(null); // a slot is free: its factory may start the process now
    }
    for (Effects.Refusal r : fx.toRefuse()) {
      r.worker().mayStart.completeExceptionally(r.error());
    }
    for (Effects.Resume e : fx.toResume()) {
      resume(e.worker(), e.state());
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

  /** Stops what would otherwise keep running after close: the health tick, a spawn retry. */
  void stopTimers() {
    monitor.stop();
    Scheduler.Task retry = retryTask;
    if (retry != null) {
      retry.cancel();
    }
  }

  /** A timer won a session's compare-and-set to ENDED. */
  private void timerEnded(Session s, SessionEndReason reason, int holdersBefore) {
    apply(allocator.sessionEnded(s, reason, holdersBefore, ticker.read()));
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
    log.atDebug().addKeyValue("session", s.key).addKeyValue("worker", w.id)
        .log("session {} pinned to worker {}", s.key, w.id);
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
    log.atDebug().addKeyValue("session", s.key).addKeyValue("worker", worker.id())
        .log("session {} ended ({}), worker {}", s.key, reason, worker.id());
    listeners.emit(l -> l.sessionEnded(s.key, worker, reason));
    gone(s);
    CompletableFuture<PooledWorker> wake = s.wake;
    if (wake != null) {
      wake.completeExceptionally(Allocator.parkedEndError(s)); // acquirers waiting for its resume
    }
    if (!s.ready.isDone()) {
      // Ended between its announcement and its confirmation: its acquirers get no lease.
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
      withPid(log.atWarn().addKeyValue("worker", worker.id()), worker)
          .log("worker {} crashed: {}", worker.id(), e.exit());
      listeners.emit(l -> l.workerCrashed(worker, e.exit()));
    } else {
      withPid(log.atInfo().addKeyValue("worker", worker.id()), worker)
          .log("worker {} stopped: {}", worker.id(), e.exit());
      listeners.emit(l -> l.workerStopped(worker, e.exit()));
    }
  }

  /**
   * Adds the worker's pid as a key-value, when it has one: JSON log lines then carry {@code
   * worker} and {@code pid} as fields, so a shipper can filter by them without parsing messages.
   */
  private static LoggingEventBuilder withPid(LoggingEventBuilder event, Worker worker) {
    return worker.pid().isPresent() ? event.addKeyValue("pid", worker.pid().getAsLong()) : event;
  }

  private void spawn(PooledWorker w) {
    CompletableFuture<Worker> f;
    try {
      // A spawn decided PREPARING gets its gate: its factory prepares, and starts on admission.
      f = w.mayStart != null ? factory.spawn(w.id, w.mayStart) : factory.spawn(w.id);
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

  /** Saves a parked session's worker; the allocator hears the outcome. */
  private void suspend(Session s, PooledWorker w) {
    CompletableFuture<SuspendedWorker> f;
    try {
      f = suspendable().suspend(w.worker);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (state, err) -> {
          if (err == null && state == null) {
            err = new HerdException("worker factory completed suspend of " + w.id + " with null");
          }
          if (err != null) {
            Throwable cause = unwrap(err);
            log.atWarn().addKeyValue("session", s.key).addKeyValue("worker", w.id)
                .log("session {} could not be suspended, ending it: worker {}: {}",
                    s.key, w.id, cause.getMessage());
            apply(allocator.suspendFailed(s, w, cause, ticker.read()));
          } else {
            WorkerExit exit =
                w.worker.onExit().getNow(new WorkerExit(OptionalInt.empty(), true, "suspended"));
            apply(allocator.suspended(s, w, state, exit, ticker.read()));
          }
        });
  }

  /** Starts a worker from a suspended session's saved state. */
  private void resume(PooledWorker w, SuspendedWorker state) {
    CompletableFuture<Worker> f;
    try {
      f = suspendable().resume(state, w.id);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (worker, err) -> {
          if (err == null && worker == null) {
            err = new HerdException("worker factory completed resume " + w.id + " with null");
          }
          if (err != null) {
            Throwable cause = unwrap(err);
            log.atWarn().addKeyValue("worker", w.id)
                .log("worker {} could not be resumed from {}: {}",
                    w.id, state.workerId(), cause.getMessage());
            apply(allocator.resumeFailed(w, state, cause, ticker.read()));
          } else {
            apply(allocator.resumed(w, worker, ticker.read()));
          }
        });
  }

  /**
   * Announces a resumed worker and its session — {@code workerStarted}, then the session's new
   * binding, then {@code sessionResumed} — watches the worker, and confirms with the allocator.
   */
  private void restore(Session s, PooledWorker w) {
    counters.resumes.increment();
    withPid(log.atInfo().addKeyValue("worker", w.id).addKeyValue("session", s.key), w.worker)
        .log("worker {} resumed session {} at {}", w.id, s.key, w.worker.address());
    listeners.emit(l -> l.workerStarted(w.worker));
    monitor.watch(w); // after workerStarted: an exit found now is reported after it
    SessionBinding old = s.binding;
    SessionBinding b = new SessionBinding(s.key, w.worker.id(), w.worker.address(), owner);
    try {
      if (old != null) {
        directory.unbind(old);
      }
      directory
          .bind(b)
          .ifPresent(other -> log.warn("session {} is also bound to {}", s.key, other));
      s.binding = b;
    } catch (RuntimeException e) {
      log.warn("session directory failed to rebind {}", b, e);
    }
    listeners.emit(l -> l.sessionResumed(s.key, w.worker));
    apply(allocator.confirmRestore(s, w, ticker.read()));
  }

  private static void discard(SuspendedWorker state) {
    try {
      state.discard();
    } catch (RuntimeException e) {
      log.warn("discarding the saved state of worker {} failed", state.workerId(), e);
    }
  }

  /** The factory, which the pool checked can suspend once {@code suspendAfter} is set. */
  private SuspendableWorkerFactory suspendable() {
    return (SuspendableWorkerFactory) factory;
  }

  WorkerFactory factory() {
    return factory;
  }

  private static void stop(PooledWorker w) {
    try {
      w.worker.stop();
    } catch (RuntimeException e) {
      log.warn("stopping worker {} failed", w.id, e);
    }
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
