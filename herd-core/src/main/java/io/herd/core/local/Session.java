package io.herd.core.local;

import io.herd.core.Scheduler;
import io.herd.core.SessionBinding;
import io.herd.core.SessionEndReason;
import io.herd.core.SuspendedWorker;
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
 * active and changes only when a suspended session resumes (see parking), so a lease is only ever
 * made on a worker whose session has been announced and confirmed alive.
 *
 * <p><b>Lifetime.</b> The session stays in the pool's map from its first acquire until its end has
 * been reported (directory binding removed, listeners told); then it is removed and {@link #gone}
 * completes. An acquirer that finds it ended waits for {@link #gone} before starting the key's next
 * session, so the next session's binding can never be written before this one's is removed.
 *
 * <p><b>Parking (suspension).</b> With {@code suspendAfter}, an idle session's worker is saved and
 * its process ended. The {@link #PARKED} bit of {@link #state} says that the session has no worker
 * to lease right now: it is set by {@link #parkIfIdle}, a compare-and-set from zero holders (so,
 * like expiry, it never races a lease), and cleared by {@link #unpark} once a resumed worker is
 * published in {@link #worker}. Holders are still counted while it is set: an acquirer that
 * retains a parked session waits for its resume ({@link #wake}) and counts as a holder meanwhile,
 * so the session cannot be parked again under it. Only the allocator reads the bit's phases
 * ({@code SUSPENDING} to {@code RESTORED}).
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

  /** Bit of {@link #state}: the session has no worker to lease now (suspending to restored). */
  static final int PARKED = 1 << 30;

  private static final int HOLDERS = PARKED - 1;

  /**
   * Where a session is in the allocator. Transitions (all in {@link Allocator}):
   *
   * <pre>
   *   NEW ──enqueue──▶ QUEUED ──hand-off──▶ ASSIGNED ──confirm──▶ ACTIVE ──end──▶ DONE
   *    │  (or hand-off at once) ──────────▶     │ end: deferred to confirm    ▲
   *    └──────────── end, withdraw, reject ─────┴─────────────────────────────┘
   *
   *   ACTIVE (parked) ──suspend──▶ SUSPENDING ──saved──▶ SUSPENDED ──acquire──▶ RESUME_QUEUED
   *      ▲                                               ▲  withdraw │ slot
   *      └── confirm ── RESTORED ◀──resumed── RESUMING ◀─┴───────────┘
   *   (an end in SUSPENDING, RESUMING or RESTORED is deferred to the step that ends the phase;
   *    a failed suspend or resume ends the session: SUSPEND_FAILED, RESUME_FAILED)
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
    /** Announced and confirmed: leases may be made on {@link #worker}, unless it is parked. */
    ACTIVE,
    /** Parked while idle; its worker is saving its state. */
    SUSPENDING,
    /** Its state is saved ({@link #saved}) and it has no process. */
    SUSPENDED,
    /** Suspended, and an acquirer waits for it: queued for a worker slot to resume in. */
    RESUME_QUEUED,
    /** A worker is being started from its saved state. */
    RESUMING,
    /** Its resumed worker is being announced; confirmed, it is ACTIVE again and unparked. */
    RESTORED,
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

  /**
   * The worker leases are made on; null until ACTIVE. Replaced only by a resume, and published
   * before the session is unparked: a lease is made on it only by an acquirer whose retain saw the
   * session unparked.
   */
  volatile PooledWorker worker;

  /** The pending expiry check and the maxLifetime task, cancelled when the session ends. */
  volatile Scheduler.Task expiryTask;

  volatile Scheduler.Task lifetimeTask;

  /** The directory entry written when the session was announced. */
  volatile SessionBinding binding;

  /**
   * Completes with the resumed worker for acquirers of a parked session, or fails when the session
   * ends before that. Created by the allocator for each suspension, under its lock, and handed to
   * acquirers from there; volatile so that the end report can fail it.
   */
  volatile CompletableFuture<PooledWorker> wake;

  /** The saved state while SUSPENDED or RESUME_QUEUED. Written under the allocator lock. */
  volatile SuspendedWorker saved;

  /** Ticker reading when the state was saved, meaningful while {@link #saved} is set. */
  volatile long suspendedSinceNanos;

  /** Why a parked session ended, for its waiting acquirers. Written under the allocator lock. */
  volatile Throwable parkedEndError;

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
    return retain() != ENDED;
  }

  /**
   * Adds a holder unless the session has ended.
   *
   * @return the state after adding (test it with {@link #parked(int)}), or {@link #ENDED}
   */
  int retain() {
    for (; ; ) {
      int c = (int) STATE.getVolatile(this);
      if (c < 0) {
        return ENDED;
      }
      if (STATE.compareAndSet(this, c, c + 1)) {
        return c + 1;
      }
    }
  }

  /** Whether a state {@link #retain} returned is parked: no worker to lease until the resume. */
  static boolean parked(int state) {
    return state >= 0 && (state & PARKED) != 0;
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
      if (c < 0) {
        return ENDED;
      }
      if ((c & HOLDERS) == 0) {
        return 0;
      }
      if (STATE.compareAndSet(this, c, c - 1)) {
        return (c - 1) & HOLDERS;
      }
    }
  }

  /** Ends the session whatever its holders; returns the holders it had, or ENDED if already. */
  int end() {
    int before = (int) STATE.getAndSet(this, ENDED);
    return before < 0 ? ENDED : before & HOLDERS;
  }

  /**
   * Ends the session only if nobody holds it, parked or not; the race-free way to expire, evict or
   * withdraw.
   */
  boolean endIfIdle() {
    for (; ; ) {
      int c = (int) STATE.getVolatile(this);
      if (c < 0 || (c & HOLDERS) != 0) {
        return false;
      }
      if (STATE.compareAndSet(this, c, ENDED)) {
        return true;
      }
    }
  }

  /** Parks the session only if nobody holds it and it is not parked: the race-free suspend. */
  boolean parkIfIdle() {
    return STATE.compareAndSet(this, 0, PARKED);
  }

  /** Clears the parked bit, keeping the holders; false if the session has ended. */
  boolean unpark() {
    for (; ; ) {
      int c = (int) STATE.getVolatile(this);
      if (c < 0) {
        return false;
      }
      if (STATE.compareAndSet(this, c, c & HOLDERS)) {
        return true;
      }
    }
  }

  boolean isParked() {
    return parked((int) STATE.getVolatile(this));
  }

  boolean isEnded() {
    return (int) STATE.getVolatile(this) < 0;
  }

  /** Open leases (or waiting acquirers while pending or parked); 0 once ended. */
  int holders() {
    int c = (int) STATE.getVolatile(this);
    return c < 0 ? 0 : c & HOLDERS;
  }

  @Override
  public String toString() {
    return "Session{" + key + ", " + phase + (isEnded() ? ", ended" : isParked() ? ", parked" : "")
        + "}";
  }
}
