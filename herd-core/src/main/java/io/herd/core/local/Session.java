package io.herd.core.local;

import io.herd.core.Scheduler;
import io.herd.core.SessionBinding;
import io.herd.core.SessionEndReason;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

/**
 * One session key's state inside a {@link LocalSessionPool}.
 *
 * <p><b>Hot state.</b> Everything the hot path needs is in {@link #state}, one atomic int. A
 * non-negative value counts the holders: open leases once the session is active, plus acquirers
 * still waiting while it is pending. {@link #ENDED} is terminal: once set, no lease can be taken,
 * so ending a session (expiry, eviction, crash, {@code end}) and taking a lease are decided by one
 * compare-and-set and can never both win. Whoever moves the state to ENDED must hand the session
 * to {@link Allocator#sessionEnded} (or is the allocator itself), which finishes the end exactly
 * once.
 *
 * <p><b>Allocator state.</b> {@link #phase}, {@link #assigned}, {@link #pendingEnd} and {@link
 * #endReason} belong to the {@link Allocator} and change only under its lock; see {@link Phase}.
 * {@link #worker} is what the hot path reads: it is published (volatile) once the session is
 * active and never changes afterwards, so a lease is only ever made on a worker whose session has
 * been announced and confirmed alive.
 *
 * <p><b>Lifetime.</b> The session stays in the pool's map from its first acquire until its end has
 * been reported (directory binding removed, listeners told); then it is removed and {@link #gone}
 * completes. An acquirer that finds it ended waits for {@link #gone} before starting the key's next
 * session, so the next session's binding can never be written before this one's is removed.
 *
 * <p><b>Memory layout.</b> The hot fields ({@link #state}, the expiry flag, {@link
 * #lastReleaseNanos}) are fields of this object updated through {@link VarHandle}s, not separate
 * {@code Atomic*} objects, so an acquire and close writes one cache line, not three (measured: 2-3x
 * faster when two threads hit one key). {@code lastReleaseNanos} is written with opaque mode before
 * the volatile compare-and-set that drops the count, which publishes it: a reader that sees the
 * count at zero through a volatile read sees the time too.
 */
final class Session {

  static final int ENDED = -1;

  /**
   * Where a session is in the allocator. Transitions (all in {@link Allocator}):
   *
   * <pre>
   *   NEW ──enqueue──▶ QUEUED ──hand-off──▶ ASSIGNED ──confirm──▶ ACTIVE ──end──▶ DONE
   *    │  (or hand-off at once) ──────────▶     │ end: deferred to confirm    ▲
   *    └──────────── end, withdraw, reject ─────┴─────────────────────────────┘
   * </pre>
   *
   * <p>ASSIGNED is the short window in which the pool announces the session (directory binding,
   * {@code sessionStarted}) outside the lock. An end that arrives then — an explicit end, or the
   * worker dying — is recorded in {@link #pendingEnd} and carried out by the confirmation, so that
   * {@code sessionStarted} is always reported before {@code sessionEnded}, and no lease is made on
   * a worker that died before the session was confirmed.
   */
  enum Phase {
    /** Inserted by its first acquire, not yet seen by the allocator. */
    NEW,
    /** Waiting in the allocator's FIFO queue. */
    QUEUED,
    /** Handed a worker; being announced. */
    ASSIGNED,
    /** Announced and confirmed: leases may be made on {@link #worker}. */
    ACTIVE,
    /** Ended and finished by the allocator. Terminal. */
    DONE
  }

  private static final VarHandle STATE;
  private static final VarHandle EXPIRY_SCHEDULED;
  private static final VarHandle LAST_RELEASE;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      STATE = l.findVarHandle(Session.class, "state", int.class);
      EXPIRY_SCHEDULED = l.findVarHandle(Session.class, "expiryScheduled", int.class);
      LAST_RELEASE = l.findVarHandle(Session.class, "lastReleaseNanos", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final String key;
  final long createdNanos;

  /** Completes with the worker once the session is ACTIVE, or fails if it never gets there. */
  final CompletableFuture<PooledWorker> ready = new CompletableFuture<>();

  /** Completes once the session has ended, been reported, and left the pool's map. */
  final CompletableFuture<Void> gone = new CompletableFuture<>();

  /** Holders (leases or waiting acquirers), or {@link #ENDED}. Accessed through STATE. */
  @SuppressWarnings("unused")
  private volatile int state;

  /** 1 while an expiry check is scheduled; at most one is outstanding per session. */
  @SuppressWarnings("unused")
  private volatile int expiryScheduled;

  /**
   * {@link io.herd.core.Ticker} reading of the last release. Written (opaque) before the decrement
   * that publishes it, so whoever sees the count at zero sees this time too. Read with {@link
   * #lastReleaseNanos()}.
   */
  @SuppressWarnings("unused")
  private long lastReleaseNanos;

  /** The worker leases are made on; null until ACTIVE, then never changes. */
  volatile PooledWorker worker;

  /** The pending expiry check and the maxLifetime task, cancelled when the session ends. */
  volatile Scheduler.Task expiryTask;

  volatile Scheduler.Task lifetimeTask;

  /** The directory entry written when the session was announced. */
  volatile SessionBinding binding;

  /** Guarded by the allocator lock. */
  Phase phase = Phase.NEW;

  /** The worker handed to it, from ASSIGNED on. Guarded by the allocator lock. */
  PooledWorker assigned;

  /** An end that arrived while ASSIGNED, carried out at confirmation. Guarded by the lock. */
  SessionEndReason pendingEnd;

  /** Why it ended, once DONE. Written under the allocator lock before the end is reported. */
  SessionEndReason endReason;

  Session(String key, long nowNanos) {
    this.key = key;
    this.createdNanos = nowNanos;
    this.lastReleaseNanos = nowNanos;
    STATE.setVolatile(this, 1);
  }

  long lastReleaseNanos() {
    return (long) LAST_RELEASE.getOpaque(this);
  }

  /**
   * Claims the right to schedule the expiry check. Reads before the compare-and-set: the flag is
   * almost always already set on the hot path, and a failing CAS would still take the line.
   */
  boolean markExpiryScheduled() {
    return (int) EXPIRY_SCHEDULED.getVolatile(this) == 0
        && EXPIRY_SCHEDULED.compareAndSet(this, 0, 1);
  }

  /** Clears the flag; the check does this before it reads the holder count. */
  void clearExpiryScheduled() {
    EXPIRY_SCHEDULED.setVolatile(this, 0);
  }

  /** Adds a holder unless the session has ended. */
  boolean tryRetain() {
    for (; ; ) {
      int c = (int) STATE.getVolatile(this);
      if (c < 0) {
        return false;
      }
      if (STATE.compareAndSet(this, c, c + 1)) {
        return true;
      }
    }
  }

  /**
   * Removes a holder.
   *
   * @return the holders left, or {@link #ENDED} when the session had already ended
   */
  int release(long nowNanos) {
    LAST_RELEASE.setOpaque(this, nowNanos);
    for (; ; ) {
      int c = (int) STATE.getVolatile(this);
      if (c <= 0) {
        return c < 0 ? ENDED : 0;
      }
      if (STATE.compareAndSet(this, c, c - 1)) {
        return c - 1;
      }
    }
  }

  /** Ends the session whatever its holders; returns the holders it had, or ENDED if already. */
  int end() {
    int before = (int) STATE.getAndSet(this, ENDED);
    return before < 0 ? ENDED : before;
  }

  /** Ends the session only if nobody holds it; the race-free way to expire, evict or withdraw. */
  boolean endIfIdle() {
    return STATE.compareAndSet(this, 0, ENDED);
  }

  boolean isEnded() {
    return (int) STATE.getVolatile(this) < 0;
  }

  /** Open leases (or waiting acquirers while pending); 0 once ended. */
  int holders() {
    return Math.max(0, (int) STATE.getVolatile(this));
  }

  @Override
  public String toString() {
    return "Session{" + key + ", " + phase + (isEnded() ? ", ended" : "") + "}";
  }
}
