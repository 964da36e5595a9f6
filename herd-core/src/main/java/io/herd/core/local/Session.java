package io.herd.core.local;

import io.herd.core.SessionBinding;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One session key's state inside a {@link LocalSessionPool}.
 *
 * <p>Design: everything the hot path needs is in {@link #state}, one atomic int. A non-negative
 * value counts the holders: open leases once the session is active, plus acquirers still waiting
 * while it is pending. {@link #ENDED} is terminal: once set, no lease can be taken, so ending a
 * session (expiry, eviction, crash, {@code end}) and taking a lease are decided by one
 * compare-and-set and can never both win.
 *
 * <p>A session is <em>pending</em> until its worker is assigned. Pending sessions sit in the
 * pool's FIFO queue; {@link #worker} and {@link #queued} change only under the pool's allocator
 * lock, and {@link #worker} is written once. {@link #ready} completes when the worker is assigned
 * (or exceptionally when the session could not get one) and is shared by every acquirer of the key:
 * that is the singleflight.
 */
final class Session {

  static final int ENDED = -1;

  final String key;
  final long createdNanos;
  final CompletableFuture<PooledWorker> ready = new CompletableFuture<>();

  /** Holders (leases or waiting acquirers), or {@link #ENDED}. */
  private final AtomicInteger state;

  /** Whether an expiry check is scheduled; at most one is outstanding per session. */
  final AtomicBoolean expiryScheduled = new AtomicBoolean();

  /**
   * {@link System#nanoTime()} of the last time the holder count dropped to zero. Written before
   * the decrement that publishes it, so whoever sees the count at zero sees this time too.
   */
  volatile long lastReleaseNanos;

  /** The assigned worker; null while pending. Written once, under the allocator lock. */
  volatile PooledWorker worker;

  /** Whether the session waits in the allocator queue. Guarded by the allocator lock. */
  boolean queued;

  /** The directory entry written when the session became active. */
  volatile SessionBinding binding;

  Session(String key, long nowNanos) {
    this.key = key;
    this.createdNanos = nowNanos;
    this.lastReleaseNanos = nowNanos;
    this.state = new AtomicInteger(1);
  }

  /** Adds a holder unless the session has ended. */
  boolean tryRetain() {
    for (; ; ) {
      int c = state.get();
      if (c < 0) {
        return false;
      }
      if (state.compareAndSet(c, c + 1)) {
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
    lastReleaseNanos = nowNanos;
    for (; ; ) {
      int c = state.get();
      if (c <= 0) {
        return c < 0 ? ENDED : 0;
      }
      if (state.compareAndSet(c, c - 1)) {
        return c - 1;
      }
    }
  }

  /** Ends the session whatever its holders; returns the holders it had, or ENDED if already. */
  int end() {
    int before = state.getAndSet(ENDED);
    return before < 0 ? ENDED : before;
  }

  /** Ends the session only if nobody holds it; the race-free way to expire or evict. */
  boolean endIfIdle() {
    return state.compareAndSet(0, ENDED);
  }

  boolean isEnded() {
    return state.get() < 0;
  }

  /** Open leases (or waiting acquirers while pending); 0 once ended. */
  int holders() {
    return Math.max(0, state.get());
  }
}
