package io.herd.proxy.internal;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerInfo;
import io.herd.core.testing.ObjectWorkerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link SessionPool} for unit tests of the gateway's handlers: each key gets its own worker
 * object at once (or the failure the test sets), and the pool counts the leases that are open, so
 * a test sees whether an exchange gave its lease back. Thread-safe enough for one test thread.
 */
final class ScriptedPool implements SessionPool {

  private final PoolConfig config = PoolConfig.builder().name("scripted").build();
  private final ObjectWorkerFactory objects =
      new ObjectWorkerFactory(URI.create("http://127.0.0.1:9"), OptionalLong.empty());
  private final Map<String, Worker> workers = new ConcurrentHashMap<>();
  private final AtomicInteger openLeases = new AtomicInteger();
  private final List<String> acquired = new ArrayList<>();
  private volatile Throwable failure;

  /** Acquires fail with {@code error} from now on (null: they succeed again). */
  void failAcquiresWith(Throwable error) {
    this.failure = error;
  }

  int openLeases() {
    return openLeases.get();
  }

  /** The keys acquired so far, in order. */
  List<String> acquired() {
    return List.copyOf(acquired);
  }

  @Override
  public PoolConfig config() {
    return config;
  }

  @Override
  public CompletableFuture<SessionLease> acquire(String key) {
    acquired.add(key);
    if (failure != null) {
      return CompletableFuture.failedFuture(failure);
    }
    Worker worker = workers.computeIfAbsent(key, k -> objects.spawn("w-" + k).join());
    openLeases.incrementAndGet();
    return CompletableFuture.completedFuture(new SessionLease() {
      private boolean closed;

      @Override
      public String key() {
        return key;
      }

      @Override
      public Worker worker() {
        return worker;
      }

      @Override
      public Duration waited() {
        return Duration.ZERO;
      }

      @Override
      public boolean newSession() {
        return false;
      }

      @Override
      public void close() {
        if (!closed) {
          closed = true;
          openLeases.decrementAndGet();
        }
      }
    });
  }

  @Override
  public SessionLease acquire(String key, Duration timeout) {
    return acquire(key).join();
  }

  @Override
  public boolean end(String key) {
    return workers.remove(key) != null;
  }

  @Override
  public boolean drain(String workerId) {
    throw new UnsupportedOperationException("the proxy never drains workers");
  }

  @Override
  public void addListener(PoolListener listener) {}

  @Override
  public void removeListener(PoolListener listener) {}

  @Override
  public PoolStats stats() {
    throw new UnsupportedOperationException("not used by the handlers");
  }

  @Override
  public List<SessionInfo> sessions() {
    return List.of();
  }

  @Override
  public List<WorkerInfo> workers() {
    return List.of();
  }

  @Override
  public void close() {}
}
