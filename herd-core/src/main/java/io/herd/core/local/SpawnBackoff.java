package io.herd.core.local;

import java.time.Duration;

/**
 * Exponential, capped delay between spawn attempts after failures, so a worker that cannot start
 * does not become a hot loop. One success resets it. Not thread-safe: guarded by the allocator
 * lock. Reads no clock: the allocator passes the time in.
 */
final class SpawnBackoff {

  private long initialNanos;
  private long maxNanos;
  private int failures;
  private long notBeforeNanos;
  private Throwable lastError;

  SpawnBackoff(Duration initial, Duration max) {
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
  }

  /**
   * New limits from a reconfigured pool; the failure count and the current wait are kept, so a
   * failing spawn does not turn into a burst because its pool was reloaded.
   */
  void limits(Duration initial, Duration max) {
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
  }

  void recordFailure(Throwable error, long nowNanos) {
    failures++;
    lastError = error;
    long delay = initialNanos;
    for (int i = 1; i < failures && delay < maxNanos; i++) {
      delay *= 2;
    }
    notBeforeNanos = nowNanos + Math.min(delay, maxNanos);
  }

  void recordSuccess() {
    failures = 0;
    notBeforeNanos = 0;
  }

  /** Whether the last spawn failed; the pool then keeps at most one spawn in flight. */
  boolean failing() {
    return failures > 0;
  }

  /** Nanoseconds until the next spawn may start; 0 or less when it may start now. */
  long remainingNanos(long nowNanos) {
    return failures == 0 ? 0 : notBeforeNanos - nowNanos;
  }

  /** The error of the last failed spawn, null when none failed since the last success. */
  Throwable lastError() {
    return failures == 0 ? null : lastError;
  }
}
