package io.herd.core.local;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.util.concurrent.CompletableFuture;

/**
 * The pool's bookkeeping around one worker, from the moment its spawn is decided until its
 * process has exited.
 *
 * <p>Every field is guarded by the {@link Allocator}'s lock and changed only by the allocator;
 * {@link #state} is volatile so that snapshots and log lines may read it without the lock. {@link
 * #worker} is written once, under the lock, when the spawn completes, before the worker is handed
 * to any session: whoever got the worker from a session or a snapshot sees it.
 */
final class PooledWorker {

  /**
   * Where a worker is in its life. Transitions (all in {@link Allocator}):
   *
   * <pre>
   *   PREPARING ──a slot freed──▶ STARTING                      PREPARING ──spawn failed──▶ DEAD
   *   STARTING ──joined──▶ IDLE ◀───────────────────┐        STARTING ──spawn failed──▶ DEAD
   *      │                   │ hand-off            │ healthy
   *      │ joined            ▼                     │
   *      └─────────────────▶ BUSY ──session ended──▶ CHECKING (reuse)
   *                          │                     │ unhealthy
   *   IDLE/BUSY/CHECKING ────┴──retired or failed──┴──▶ STOPPING ──exited──▶ DEAD
   *   IDLE/BUSY/CHECKING ──exited on its own (crash)──────────────────────────▶ DEAD
   *
   *   BUSY ──session parked──▶ SUSPENDING ──state saved──▶ DEAD   (failed: ──▶ STOPPING)
   *   RESUMING ──resumed, announced, confirmed──▶ BUSY            (failed: ──▶ DEAD)
   * </pre>
   *
   * <p>A worker whose spawn completed stays STARTING while it is announced ({@code workerStarted}),
   * and joins only then ({@code Allocator.joined}), so no other event about it can come first; one
   * that exits meanwhile is a crash (STARTING → DEAD) and never joins.
   *
   * <p>Every state but PREPARING and DEAD is a process that exists, so all of them count against
   * {@code max}: a starting worker from the moment its spawn is decided, a suspending worker until
   * its factory says its process has gone, a resuming one from the moment its resume is decided. A
   * PREPARING worker has no process yet: its factory prepares what it can while the worker whose
   * slot it will take is still stopping, and it becomes STARTING, its {@link #mayStart} completed,
   * only once a slot is free.
   */
  enum State {
    /**
     * Spawn requested while every slot is taken but one is being freed (a worker STOPPING): its
     * sandbox is prepared, its process not started until {@link #mayStart} completes.
     */
    PREPARING,
    /** Spawn requested, or spawned and being announced: serves no one yet. */
    STARTING,
    /** Ready, in the idle set, no session. */
    IDLE,
    /** Pinned to {@link #session}. */
    BUSY,
    /** Freed by its session; its health is checked before it serves another ({@code reuse}). */
    CHECKING,
    /** Asked to stop; its process still exists until it exits. */
    STOPPING,
    /** Saving its session's state before its process ends ({@code suspendAfter}). */
    SUSPENDING,
    /** Being started from a suspended session's saved state, for {@link #session}. */
    RESUMING,
    /** Exited, or its spawn failed. Terminal. */
    DEAD
  }

  final String id;

  /** The started worker, once its spawn completed; null before (and forever if it failed). */
  Worker worker;

  volatile State state = State.STARTING;

  /**
   * For a spawn decided PREPARING: completed by the pool, after the decision that moved the worker
   * to STARTING, to let its factory start the process (or failed, when the pool closes first).
   * Null for a spawn that may start at once. Written once, under the lock, before the spawn.
   */
  CompletableFuture<Void> mayStart;

  /** Whether it was refused while PREPARING, no longer wanted: its failed spawn is no failure. */
  boolean refused;

  /** The session it serves while BUSY, or resumes while RESUMING; null otherwise. */
  Session session;

  /** Sessions handed to it so far, for {@code maxSessionsPerWorker}. */
  int sessionsServed;

  /** When it last became idle, for scale-down. */
  long idleSinceNanos;

  /** Consecutive failed periodic health checks. */
  int healthFailures;

  /** Whether {@code workerStarted} was reported; only then is its end reported too. */
  boolean announced;

  /** Whether it was reported as crashed, so that its exit is not reported again. */
  boolean crashReported;

  /**
   * Whether an operator asked to drain it ({@code SessionPool.drain}): it is handed no session
   * any more, and is stopped instead of reused once its current session (if any) finishes.
   */
  boolean draining;

  /** Its exit, if it came while SUSPENDING: the outcome of the suspension decides what follows. */
  WorkerExit exitWhileSuspending;

  PooledWorker(String id) {
    this.id = id;
  }

  @Override
  public String toString() {
    return id + "(" + state + ")";
  }
}
