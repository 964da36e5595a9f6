package io.herd.core.local;

import io.herd.core.PoolConfig;
import io.herd.core.Scheduler;
import io.herd.core.SessionEndReason;
import io.herd.core.Ticker;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The timers of sessions and acquires: idle expiry (TTL), {@code maxLifetime}, and acquire
 * deadlines. Time comes from the pool's {@link Ticker} and every task runs on its {@link
 * Scheduler}, so a test can drive all of it in virtual time.
 *
 * <p><b>Expiry, per idle session.</b> When a session's last lease closes, one check is scheduled
 * (unless one is already outstanding, {@link Session#markExpiryScheduled}) for when its TTL would
 * run out. The check ends the session only if it is still idle, by a compare-and-set from zero
 * holders, so expiry never races a new lease; if the session was used meanwhile it reschedules
 * for the new deadline, and if a lease is open it leaves the next release to schedule again. Work
 * grows with the sessions that go idle, never with a scan of all sessions.
 *
 * <p><b>Suspension rides on the same check.</b> With {@code suspendAfter}, the check comes first at
 * the earlier deadline: a session idle for {@code suspendAfter} is parked by a compare-and-set from
 * zero holders ({@link Session#parkIfIdle}) and handed over to be suspended, and the check is
 * rescheduled for its TTL, which keeps running while it is suspended (a parked session still
 * expires by {@link Session#endIfIdle}). One outstanding task per idle session, as before.
 *
 * <p><b>maxLifetime</b> is one task per session, armed when it becomes active, counted from its
 * creation. Both tasks are cancelled when the session's end is reported.
 *
 * <p>Thread-safe: tasks run on the scheduler's threads, arming happens on the threads that close
 * leases. Lifetime: one per pool; it owns no thread.
 */
final class SessionTimers {

  /** Where the timers hand a session they ended: they won its compare-and-set to ENDED. */
  @FunctionalInterface
  interface Ender {
    void ended(Session s, SessionEndReason reason, int holdersBefore);
  }

  private final Scheduler scheduler;
  private final Ticker ticker;
  // Volatile: replaced by reconfigure(), read by timer and lease threads.
  private volatile long ttlNanos;
  private volatile long maxLifetimeNanos;
  /** {@code suspendAfter} in nanoseconds, or -1 when sessions are not suspended. */
  private volatile long suspendAfterNanos;
  private final Ender ender;
  private final Consumer<Session> suspender;

  /**
   * @param suspender where the timers hand a session they parked ({@link Session#parkIfIdle} won)
   */
  SessionTimers(
      PoolConfig config,
      Scheduler scheduler,
      Ticker ticker,
      Ender ender,
      Consumer<Session> suspender) {
    this.scheduler = scheduler;
    this.ticker = ticker;
    this.ttlNanos = config.ttl().toNanos();
    this.maxLifetimeNanos = config.maxLifetime().map(d -> d.toNanos()).orElse(-1L);
    this.suspendAfterNanos = config.suspendAfter().map(d -> d.toNanos()).orElse(-1L);
    this.ender = ender;
    this.suspender = suspender;
  }

  /**
   * Takes the TTL and maxLifetime of a reconfigured pool. A new TTL applies from each session's
   * next expiry check (a check scheduled for the old TTL that finds the session idle for less than
   * the new one reschedules itself); a new maxLifetime applies to sessions activated from now on.
   */
  void reconfigure(PoolConfig config) {
    this.ttlNanos = config.ttl().toNanos();
    this.maxLifetimeNanos = config.maxLifetime().map(d -> d.toNanos()).orElse(-1L);
    this.suspendAfterNanos = config.suspendAfter().map(d -> d.toNanos()).orElse(-1L);
  }

  /** Runs {@code task} at ticker reading {@code deadlineNanos}. */
  Scheduler.Task at(long deadlineNanos, Runnable task) {
    return scheduler.schedule(task, deadlineNanos - ticker.read(), TimeUnit.NANOSECONDS);
  }

  /**
   * A session became active: expiry in case every acquirer gave up while its worker was on the
   * way, and its maxLifetime.
   */
  void activated(Session s) {
    armExpiry(s);
    long maxLifetime = maxLifetimeNanos;
    if (maxLifetime > 0) {
      s.lifetimeTask = at(s.createdNanos + maxLifetime, () -> lifetimeReached(s));
    }
  }

  /** A session's last lease closed: make sure an expiry (or suspension) check is on its way. */
  void armExpiry(Session s) {
    if (s.markExpiryScheduled()) { // almost always set already on the hot path: nothing else read
      long suspendAfter = suspendAfterNanos;
      long delay =
          suspendAfter > 0 && !s.isParked() ? Math.min(suspendAfter, ttlNanos) : ttlNanos;
      s.expiryTask = scheduler.schedule(() -> checkExpiry(s), delay, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A suspended session resumed: its idle clock runs from its next release, and the check that
   * was waiting for its TTL would come too late to suspend it again, so it is replaced.
   */
  void resumed(Session s) {
    Scheduler.Task t = s.expiryTask;
    if (t != null && t.cancel()) {
      s.clearExpiryScheduled(); // it will not run, so nothing else clears it
    }
    armExpiry(s);
  }

  /** Cancels the timers that would only find the session ended, so they free what they hold. */
  void cancel(Session s) {
    Scheduler.Task t = s.expiryTask;
    if (t != null) {
      t.cancel();
    }
    t = s.lifetimeTask;
    if (t != null) {
      t.cancel();
    }
  }

  private void schedule(Session s, long delayNanos) {
    if (s.markExpiryScheduled()) {
      s.expiryTask = scheduler.schedule(() -> checkExpiry(s), delayNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void checkExpiry(Session s) {
    s.clearExpiryScheduled(); // before reading holders: a release to zero reschedules
    if (s.isEnded() || s.holders() > 0) {
      return;
    }
    long ttl = ttlNanos;
    long idleFor = ticker.read() - s.lastReleaseNanos();
    if (idleFor >= ttl) {
      if (s.endIfIdle()) {
        ender.ended(s, SessionEndReason.EXPIRED, 0);
      }
      return;
    }
    long next = ttl - idleFor;
    long suspendAfter = suspendAfterNanos;
    if (suspendAfter > 0 && !s.isParked()) {
      if (idleFor < suspendAfter) {
        next = Math.min(next, suspendAfter - idleFor);
      } else if (s.parkIfIdle()) {
        suspender.accept(s);
      } else {
        return; // a lease came first: its release schedules again
      }
    }
    schedule(s, next);
  }

  private void lifetimeReached(Session s) {
    int holders = s.end();
    if (holders != Session.ENDED) {
      ender.ended(s, SessionEndReason.EXPIRED, holders);
    }
  }
}
