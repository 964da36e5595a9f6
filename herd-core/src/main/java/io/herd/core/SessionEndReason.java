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
  SHUTDOWN
}
