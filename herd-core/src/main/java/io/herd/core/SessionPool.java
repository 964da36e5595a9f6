package io.herd.core;

import io.herd.core.local.LocalSessionPool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A pool of workers in which each session key is pinned to exactly one worker for the life of the
 * session, and each worker serves at most one session at a time.
 *
 * <p>Thread-safe. Acquiring a pinned session takes no global lock; only starting and ending
 * sessions coordinate through the pool's allocator. {@link #close()} stops every worker.
 */
public interface SessionPool extends AutoCloseable {

  /**
   * Creates and starts a pool: it begins spawning {@code min} and {@code warm} workers at once.
   *
   * @param directory where session bindings are recorded
   */
  static SessionPool create(PoolConfig config, WorkerFactory factory, SessionDirectory directory) {
    return builder(config, factory).directory(directory).build();
  }

  /** Creates a pool with an in-memory session directory. */
  static SessionPool create(PoolConfig config, WorkerFactory factory) {
    return builder(config, factory).build();
  }

  /**
   * A builder for a pool with more than a config and a factory: a shared {@link SessionDirectory},
   * or a {@link Ticker} and {@link Scheduler} of your own, e.g. a virtual clock in tests:
   *
   * <pre>{@code
   * SessionPool pool = SessionPool.builder(config, factory)
   *     .ticker(clock)      // every TTL, deadline and backoff is read from it
   *     .scheduler(clock)   // every timer runs on it
   *     .build();
   * }</pre>
   */
  static Builder builder(PoolConfig config, WorkerFactory factory) {
    return new Builder(config, factory);
  }

  /** This pool's current configuration: the last one given to {@link #reconfigure}, if any. */
  PoolConfig config();

  /**
   * Takes new sizes, timeouts and health settings while the pool runs, without ending a session;
   * see {@link io.herd.core.local.LocalSessionPool#reconfigure} for when each takes effect. The
   * pool's name cannot change.
   *
   * @throws IllegalArgumentException when {@code next} names another pool
   * @throws UnsupportedOperationException when this pool cannot be reconfigured
   */
  default void reconfigure(PoolConfig next) {
    throw new UnsupportedOperationException(getClass().getSimpleName()
        + " cannot be reconfigured while it runs");
  }


  /**
   * A lease on the worker of session {@code key}, pinning the key to an idle or freshly spawned
   * worker when the session is new. Concurrent acquires of a new key share one assignment.
   *
   * <p>The future fails with {@link QueueFullException}, {@link AcquireTimeoutException}, {@link
   * WorkerStartException}, {@link SessionEndedException} (the session was ended, or its worker
   * died, before it was assigned; acquiring again starts a new session) or {@link
   * PoolClosedException}; it never stays pending beyond the acquire timeout. Cancelling it
   * withdraws this acquire.
   */
  CompletableFuture<SessionLease> acquire(String key);

  /**
   * Blocking form of {@link #acquire(String)} that waits at most {@code timeout} (and at most the
   * pool's acquire timeout). Throws what the future would fail with, unwrapped.
   *
   * @throws InterruptedException if interrupted while waiting; the acquire is withdrawn
   */
  SessionLease acquire(String key, Duration timeout) throws InterruptedException;

  /**
   * Ends session {@code key} with reason {@link SessionEndReason#RELEASED}. A worker with no open
   * lease is recycled (reused or replaced); one with open leases is stopped, since its in-flight
   * work belongs to the ended session.
   *
   * @return whether the session existed
   */
  boolean end(String key);

  /**
   * Drains worker {@code workerId}: it is handed no new session, and it is stopped once it serves
   * none — at once when idle, otherwise when its session ends (the session itself is not
   * touched). {@code min} and {@code warm} are kept by spawning replacements as usual. Idempotent.
   *
   * @return whether a worker of that id has started and not yet exited
   */
  boolean drain(String workerId);

  /** Registers a listener for lifecycle events. */
  void addListener(PoolListener listener);

  /** Removes a listener. */
  void removeListener(PoolListener listener);

  /** Figures of the pool; never blocks. */
  PoolStats stats();

  /** Snapshot of the pinned sessions, suspended ones included ({@link SessionInfo#suspended()}). */
  List<SessionInfo> sessions();

  /**
   * Snapshot of the workers that have started and not yet exited, including those being stopped
   * (which still count against {@code max}); spawns in progress are counted in {@link #stats()}.
   */
  List<WorkerInfo> workers();

  /**
   * Refuses new acquires, fails queued ones, ends every session ({@link SessionEndReason#SHUTDOWN})
   * and stops every worker, waiting for all of them to exit — including workers whose spawn was
   * still in progress. Idempotent.
   */
  @Override
  void close();

  /**
   * Assembles a pool. Not thread-safe; {@link #build()} may be called once per pool wanted.
   * Defaults: an {@link InMemorySessionDirectory}, {@link Ticker#system()}, and a scheduler the
   * pool owns (one daemon thread named {@code herd-<pool>-timer}, shut down by {@link #close()}).
   */
  final class Builder {
    private final PoolConfig config;
    private final WorkerFactory factory;
    private SessionDirectory directory;
    private Ticker ticker = Ticker.system();
    private Scheduler scheduler;
    private final List<PoolListener> listeners = new ArrayList<>();

    private Builder(PoolConfig config, WorkerFactory factory) {
      this.config = Objects.requireNonNull(config, "config");
      this.factory = Objects.requireNonNull(factory, "factory");
    }

    /** Where session bindings are recorded. */
    public Builder directory(SessionDirectory directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** The clock the pool measures time with; must agree with the {@link #scheduler}. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Where the pool's timers run. The caller keeps ownership: the pool cancels its tasks on close
     * but never shuts the scheduler down.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * A listener registered before the pool starts, so that it sees the first workers start too
     * (with {@link #addListener} it may miss those of {@code min} and {@code warm}).
     */
    public Builder listener(PoolListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /** Creates the pool and starts filling it to {@code min} and {@code warm}. */
    public SessionPool build() {
      return new LocalSessionPool(
          config,
          factory,
          directory != null ? directory : new InMemorySessionDirectory(),
          ticker,
          scheduler,
          listeners);
    }
  }
}
