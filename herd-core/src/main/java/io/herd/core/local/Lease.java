package io.herd.core.local;

import io.herd.core.SessionLease;
import io.herd.core.Worker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;

/**
 * A {@link SessionLease} of a {@link LocalSessionPool}. One small object per acquire; closing it
 * is one compare-and-set plus the session's release, so the hot path allocates nothing else.
 */
final class Lease implements SessionLease {

  private static final VarHandle CLOSED;

  static {
    try {
      CLOSED = MethodHandles.lookup().findVarHandle(Lease.class, "closed", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final LocalSessionPool pool;
  private final Session session;
  private final PooledWorker worker;
  private final long waitedNanos;
  private final boolean newSession;

  @SuppressWarnings("unused") // accessed through CLOSED
  private volatile int closed;

  Lease(
      LocalSessionPool pool,
      Session session,
      PooledWorker worker,
      long waitedNanos,
      boolean newSession) {
    this.pool = pool;
    this.session = session;
    this.worker = worker;
    this.waitedNanos = waitedNanos;
    this.newSession = newSession;
  }

  @Override
  public String key() {
    return session.key;
  }

  @Override
  public Worker worker() {
    return worker.worker;
  }

  @Override
  public Duration waited() {
    return Duration.ofNanos(waitedNanos);
  }

  @Override
  public boolean newSession() {
    return newSession;
  }

  @Override
  public void close() {
    if (CLOSED.compareAndSet(this, 0, 1)) {
      pool.release(session);
    }
  }

  /**
   * Marks the lease closed without releasing its hold: used when the acquirer it was made for had
   * already given up, and that give-up released the hold itself.
   */
  void discard() {
    CLOSED.setVolatile(this, 1);
  }

  @Override
  public String toString() {
    return "SessionLease{key=" + session.key + ", worker=" + worker.worker.id() + "}";
  }
}
