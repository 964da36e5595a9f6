package io.herd.core.local;

import io.herd.core.WorkerExit;
import java.util.ArrayList;
import java.util.List;

/**
 * What a decision of the {@link Allocator} asks to be done once its lock is released: stopping and
 * spawning workers, health checks, directory writes, listener calls and completing futures all run
 * factory, worker or user code, which must never run while the lock is held.
 *
 * <p>{@link LocalSessionPool#apply} carries the lists out in the order they are declared here,
 * which is the order the events must be seen in: a worker is announced before its sessions; a
 * crash before the end of the session it took down; a session's end before its worker is stopped
 * (so {@code sessionEnded} precedes {@code workerStopped}) or announced to the next session that a
 * later list in the same batch activates.
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

  /** Workers that joined the pool: announce them ({@code workerStarted}). */
  final List<PooledWorker> joined = new ArrayList<>(0);

  /** Workers whose exit to watch, from the moment their spawn completed. */
  final List<PooledWorker> toWatch = new ArrayList<>(0);

  /** Workers that crashed or stopped, in decision order. */
  final List<WorkerEnd> workerEnds = new ArrayList<>(0);

  final List<SpawnFailure> spawnFailures = new ArrayList<>(0);

  /** Announced sessions that ended: report them (reason in {@link Session#endReason}). */
  final List<Session> ended = new ArrayList<>(0);

  /** Sessions that ended before they were announced: fail their acquirers. */
  final List<Failure> failed = new ArrayList<>(0);

  /** Workers to stop. */
  final List<PooledWorker> toStop = new ArrayList<>(0);

  /** Sessions handed a worker: announce them, then confirm with the allocator. */
  final List<Session> toActivate = new ArrayList<>(1);

  /** Sessions confirmed ACTIVE: arm their timers and give their acquirers leases. */
  final List<Session> ready = new ArrayList<>(1);

  /** Freed workers to health-check before reuse. */
  final List<PooledWorker> toCheck = new ArrayList<>(0);

  /** Workers whose liveness to probe (periodic maintenance). */
  final List<PooledWorker> toProbe = new ArrayList<>(0);

  /** Workers (STARTING) whose spawn to start. */
  final List<PooledWorker> toSpawn = new ArrayList<>(0);

  /** When non-negative: schedule a spawn retry this many nanoseconds from now. */
  long retryInNanos = -1;

  /** Acquires refused because the queue was full. */
  int queueRejections;

  /** The pool is closed and its last worker has gone. */
  boolean terminated;

  void fail(Session s, Throwable error) {
    failed.add(new Failure(s, error));
  }
}
