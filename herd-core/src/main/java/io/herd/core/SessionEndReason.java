package io.herd.core;

/** Why a session ended, as reported to {@link PoolListener#sessionEnded}. */
public enum SessionEndReason {
  /** Ended on request: {@link SessionPool#end(String)}. */
  RELEASED,
  /** Idle for longer than the TTL, or older than {@code maxLifetime}. */
  EXPIRED,
  /** Its worker exited or failed its health checks. */
  CRASHED,
  /** Taken away so that a queued session could have its worker ({@code evictIdleOnPressure}). */
  EVICTED,
  /** The pool shut down. */
  SHUTDOWN,
  /**
   * Its idle worker could not be saved ({@code suspendAfter}); the worker was stopped. The next
   * acquire starts a new session.
   */
  SUSPEND_FAILED,
  /**
   * Its saved worker could not be started again; the saved state was discarded and the acquire
   * that asked for it failed. The next acquire starts a new session.
   */
  RESUME_FAILED
}
