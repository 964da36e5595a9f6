package io.herd.core.local;

import io.herd.core.SuspendedWorker;
import io.herd.core.WorkerExit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a decision of the {@link Allocator} asks to be done once its lock is released: stopping and
 * spawning workers, health checks, directory writes, listener calls and completing futures all run
 * factory, worker or user code, which must never run while the lock is held.
 *
 * <p>{@link EffectRunner#apply} carries the lists out in the order they are declared here, which
 * is the order the events must be seen in: a worker is announced before its sessions; a crash
 * before the end of the session it took down; a session's end before its worker is stopped (so
 * {@code sessionEnded} precedes {@code workerStopped}) or announced to the next session that a
 * later list in the same batch activates; a session's suspension before its worker's stop.
 *
 * <p>Most decisions ask for one or two things, so each list is created on its first element: a
 * new session takes several decisions, and empty lists would be most of what they allocate.
 *
 * <p>Confined to the thread that made the decision; created per decision, never shared.
 */
final class Effects {

  /** A worker's end as the listeners hear it. */
  record WorkerEnd(PooledWorker worker, WorkerExit exit, boolean crashed) {}

  /** A spawn that failed, to report. */
  record SpawnFailure(PooledWorker worker, Throwable error) {}

  /** A pending session that gets no worker, and the error its acquirers see. */
  record Failure(Session session, Throwable error) {}

  /** A prepared spawn that may not start, and why. */
  record Refusal(PooledWorker worker, Throwable error) {}

  /** A session parked by a decision: save its worker's state ({@code factory.suspend}). */
  record Suspension(Session session, PooledWorker worker) {}

  /** A session whose worker's state was saved: tell the listeners. */
  record Suspended(Session session, PooledWorker worker) {}

  /** A worker to start from a suspended session's saved state ({@code factory.resume}). */
  record Resume(PooledWorker worker, SuspendedWorker state) {}

  /** A session given its resumed worker: announce both, then confirm with the allocator. */
  record Restore(Session session, PooledWorker worker) {}

  /** A confirmed resume: the session's waiting acquirers get leases on {@code worker}. */
  record Wake(Session session, CompletableFuture<PooledWorker> wake, PooledWorker worker) {}

  private List<PooledWorker> joined;
  private List<PooledWorker> toWatch;
  private List<Suspended> suspended;
  private List<WorkerEnd> workerEnds;
  private List<SpawnFailure> spawnFailures;
  private List<Session> ended;
  private List<SuspendedWorker> toDiscard;
  private List<Failure> failed;
  private List<PooledWorker> toStop;
  private List<Suspension> toSuspend;
  private List<Session> toActivate;
  private List<Restore> toRestore;
  private List<Session> ready;
  private List<Wake> woken;
  private List<PooledWorker> toCheck;
  private List<PooledWorker> toProbe;
  private List<PooledWorker> toSpawn;
  private List<PooledWorker> toAdmit;
  private List<Refusal> toRefuse;
  private List<Resume> toResume;

  /** When non-negative: schedule a spawn retry this many nanoseconds from now. */
  long retryInNanos = -1;

  /** Acquires refused because the queue was full. */
  int queueRejections;

  /** The pool is closed and its last worker has gone. */
  boolean terminated;

  // ---------------------------------------------------------------- recorded by the allocator

  /** A worker was spawned: announce it ({@code workerStarted}), then let it join the pool. */
  void join(PooledWorker w) {
    joined = add(joined, w);
  }

  /** Watch a worker's exit, from the moment its spawn completed. */
  void watch(PooledWorker w) {
    toWatch = add(toWatch, w);
  }

  /** A worker crashed or stopped: tell the listeners. */
  void workerEnded(PooledWorker w, WorkerExit exit, boolean crashed) {
    workerEnds = add(workerEnds, new WorkerEnd(w, exit, crashed));
  }

  void spawnFailed(PooledWorker w, Throwable error) {
    spawnFailures = add(spawnFailures, new SpawnFailure(w, error));
  }

  /** An announced session ended: report it (reason in {@link Session#endReason}). */
  void ended(Session s) {
    ended = add(ended, s);
  }

  /** A session ended before it was announced: fail its acquirers with {@code error}. */
  void fail(Session s, Throwable error) {
    failed = add(failed, new Failure(s, error));
  }

  void stop(PooledWorker w) {
    toStop = add(toStop, w);
  }

  /** A session was handed a worker: announce it, then confirm it with the allocator. */
  void activate(Session s) {
    toActivate = add(toActivate, s);
  }

  /** A session was confirmed ACTIVE: arm its timers and give its acquirers leases. */
  void ready(Session s) {
    ready = add(ready, s);
  }

  /** A freed worker to health-check before reuse. */
  void check(PooledWorker w) {
    toCheck = add(toCheck, w);
  }

  /** A worker whose liveness to probe (periodic maintenance). */
  void probe(PooledWorker w) {
    toProbe = add(toProbe, w);
  }

  /**
   * A worker (STARTING, or PREPARING with its {@link PooledWorker#mayStart} gate) whose spawn to
   * start.
   */
  void spawn(PooledWorker w) {
    toSpawn = add(toSpawn, w);
  }

  /** A PREPARING worker moved to STARTING: complete its gate, so its process may start. */
  void admit(PooledWorker w) {
    toAdmit = add(toAdmit, w);
  }

  /** A PREPARING worker that will never get a slot (the pool closed): fail its gate. */
  void refuse(PooledWorker w, Throwable error) {
    toRefuse = add(toRefuse, new Refusal(w, error));
  }

  /** A session's worker has been saved and its process is gone. */
  void suspended(Session s, PooledWorker w) {
    suspended = add(suspended, new Suspended(s, w));
  }

  /** Saved state no session will resume: delete it. */
  void discard(SuspendedWorker state) {
    toDiscard = add(toDiscard, state);
  }

  void suspend(Session s, PooledWorker w) {
    toSuspend = add(toSuspend, new Suspension(s, w));
  }

  void restore(Session s, PooledWorker w) {
    toRestore = add(toRestore, new Restore(s, w));
  }

  void wake(Session s, CompletableFuture<PooledWorker> wake, PooledWorker w) {
    woken = add(woken, new Wake(s, wake, w));
  }

  void resume(PooledWorker w, SuspendedWorker state) {
    toResume = add(toResume, new Resume(w, state));
  }

  private static <T> List<T> add(List<T> list, T item) {
    List<T> l = list != null ? list : new ArrayList<>(2);
    l.add(item);
    return l;
  }

  // ---------------------------------------------------------------- read by the runner, in order

  List<PooledWorker> joined() {
    return orEmpty(joined);
  }

  List<Suspended> suspended() {
    return orEmpty(suspended);
  }

  List<SuspendedWorker> toDiscard() {
    return orEmpty(toDiscard);
  }

  List<Suspension> toSuspend() {
    return orEmpty(toSuspend);
  }

  List<Restore> toRestore() {
    return orEmpty(toRestore);
  }

  List<Wake> woken() {
    return orEmpty(woken);
  }

  List<Resume> toResume() {
    return orEmpty(toResume);
  }

  List<PooledWorker> toWatch() {
    return orEmpty(toWatch);
  }

  List<WorkerEnd> workerEnds() {
    return orEmpty(workerEnds);
  }

  List<SpawnFailure> spawnFailures() {
    return orEmpty(spawnFailures);
  }

  List<Session> ended() {
    return orEmpty(ended);
  }

  List<Failure> failed() {
    return orEmpty(failed);
  }

  List<PooledWorker> toStop() {
    return orEmpty(toStop);
  }

  List<Session> toActivate() {
    return orEmpty(toActivate);
  }

  List<Session> ready() {
    return orEmpty(ready);
  }

  List<PooledWorker> toCheck() {
    return orEmpty(toCheck);
  }

  List<PooledWorker> toProbe() {
    return orEmpty(toProbe);
  }

  List<PooledWorker> toSpawn() {
    return orEmpty(toSpawn);
  }

  List<PooledWorker> toAdmit() {
    return orEmpty(toAdmit);
  }

  List<Refusal> toRefuse() {
    return orEmpty(toRefuse);
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list != null ? list : List.of();
  }
}
