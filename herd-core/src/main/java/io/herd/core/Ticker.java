package io.herd.core;

/**
 * A source of nanosecond time for measuring intervals, like {@link System#nanoTime()}: only
 * differences between two readings mean anything. The pool reads every TTL, deadline, backoff and
 * idle time from its ticker, so a test can run them in virtual time.
 *
 * <p>Implementations must be thread-safe and cheap: the pool reads the ticker when a lease closes.
 * Readings must never decrease.
 *
 * @see SessionPool#builder(PoolConfig, WorkerFactory)
 * @see Scheduler
 */
@FunctionalInterface
public interface Ticker {

  /** The current reading, in nanoseconds. */
  long read();

  /**
   * The ticker of the running JVM: {@link System#nanoTime()}. Always the same instance (a
   * non-capturing method reference), so the JIT sees one receiver type on the pool's paths.
   */
  static Ticker system() {
    return System::nanoTime;
  }
}
