package io.herd.server.metrics;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.WorkerInfo;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A {@link SessionPool} that times every acquire into {@code herd.pool.acquire} (a histogram,
 * tagged by outcome and by whether the session was new or already pinned) and otherwise
 * delegates. The gateway is given this pool, so acquire waits are measured where they happen
 * without the pool knowing about metrics.
 *
 * <p>Thread-safe as its delegate. The future returned by {@link #acquire(String)} is the
 * delegate's own, so cancelling it still withdraws the acquire. Lives as long as the delegate;
 * closing it closes the delegate.
 */
public final class TimedSessionPool implements SessionPool {

  private final SessionPool delegate;
  private final MeterRegistry registry;
  /** On every meter: {@code pool=<name>} in a gateway of several pools, else none. */
  private final Tags tags;
  /**
   * The timers, one per outcome and {@link #SESSION_TAGS} entry, registered at first use: building
   * and registering a meter per acquire (a builder, tag merging, a registry lookup) cost more than
   * the rest of a proxied request's bookkeeping.
   */
  private final AtomicReferenceArray<Timer> timers =
      new AtomicReferenceArray<>(AcquireOutcome.values().length * SESSION_TAGS.length);

  private static final String[] SESSION_TAGS = {"none", "new", "pinned"};

  public TimedSessionPool(SessionPool delegate, MeterRegistry registry) {
    this(delegate, registry, Tags.empty());
  }

  public TimedSessionPool(SessionPool delegate, MeterRegistry registry, Tags tags) {
    this.delegate = delegate;
    this.registry = registry;
    this.tags = tags;
  }

  @Override
  public PoolConfig config() {
    return delegate.config();
  }

  @Override
  public void reconfigure(PoolConfig next) {
    delegate.reconfigure(next);
  }

  @Override
  public CompletableFuture<SessionLease> acquire(String key) {
    long start = System.nanoTime();
    CompletableFuture<SessionLease> future = delegate.acquire(key);
    if (future.isDone() && !future.isCompletedExceptionally()) {
      // A pinned session's lease is there at once: record it without the dependent future and
      // callback that whenComplete would allocate for every request.
      record(start, future.join(), null);
    } else {
      future.whenComplete((lease, error) -> record(start, lease, error));
    }
    return future;
  }

  @Override
  public SessionLease acquire(String key, Duration timeout) throws InterruptedException {
    long start = System.nanoTime();
    try {
      SessionLease lease = delegate.acquire(key, timeout);
      record(start, lease, null);
      return lease;
    } catch (RuntimeException e) {
      record(start, null, e);
      throw e;
    }
  }

  private void record(long startNanos, SessionLease lease, Throwable error) {
    int session = lease == null ? 0 : lease.newSession() ? 1 : 2;
    AcquireOutcome outcome = AcquireOutcome.of(error);
    int slot = outcome.ordinal() * SESSION_TAGS.length + session;
    Timer timer = timers.get(slot);
    if (timer == null) { // registering twice yields the same meter, so a race is harmless
      timer = Timer.builder("herd.pool.acquire")
          .description("Time to get a session's worker: queueing and spawning included")
          .tag("outcome", outcome.tag)
          .tag("session", SESSION_TAGS[session])
          .tags(tags)
          .serviceLevelObjectives(LatencyBuckets.BOUNDS)
          .register(registry);
      timers.set(slot, timer);
    }
    timer.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public boolean end(String key) {
    return delegate.end(key);
  }

  @Override
  public boolean drain(String workerId) {
    return delegate.drain(workerId);
  }

  @Override
  public void addListener(PoolListener listener) {
    delegate.addListener(listener);
  }

  @Override
  public void removeListener(PoolListener listener) {
    delegate.removeListener(listener);
  }

  @Override
  public PoolStats stats() {
    return delegate.stats();
  }

  @Override
  public List<SessionInfo> sessions() {
    return delegate.sessions();
  }

  @Override
  public List<WorkerInfo> workers() {
    return delegate.workers();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
