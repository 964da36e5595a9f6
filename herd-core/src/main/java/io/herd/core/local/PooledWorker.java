package io.herd.core.local;

import io.herd.core.Worker;

/**
 * The pool's bookkeeping around one live {@link Worker}.
 *
 * <p>Every field but {@link #healthFailures} is guarded by the allocator lock of the owning {@link
 * LocalSessionPool}; {@link #state} and {@link #session} are volatile only so that snapshots for
 * stats and admin APIs can read them without the lock.
 */
final class PooledWorker {

  /** Lifecycle of a worker inside the pool. */
  enum State {
    /** Ready, in the idle set, no session. */
    IDLE,
    /** Pinned to {@link #session}. */
    BUSY,
    /** Freed by its session and being health-checked before it is reused. */
    CHECKING,
    /** Being stopped; no longer counted against {@code max}. */
    STOPPING,
    /** Exited. */
    DEAD
  }

  final Worker worker;

  volatile State state = State.IDLE;

  /** The session it serves while BUSY. */
  volatile Session session;

  /** Sessions served so far, for {@code maxSessionsPerWorker}. */
  int sessionsServed;

  /** When it last became idle, for scale-down. */
  long idleSinceNanos;

  /** Whether the pool already reported it as crashed (so its exit is not reported again). */
  boolean crashReported;

  /** Consecutive failed health checks; touched only by the maintenance task. */
  int healthFailures;

  PooledWorker(Worker worker, long nowNanos) {
    this.worker = worker;
    this.idleSinceNanos = nowNanos;
  }

  boolean isLive() {
    State s = state;
    return s == State.IDLE || s == State.BUSY || s == State.CHECKING;
  }

  @Override
  public String toString() {
    return worker.id() + "(" + state + ")";
  }
}
