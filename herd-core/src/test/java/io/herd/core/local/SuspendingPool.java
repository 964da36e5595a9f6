package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import org.awaitility.Awaitility;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.testing.SuspendableProcessWorkerFactory;
import io.herd.core.testing.VirtualTime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A pool of real suspendable worker processes ({@link SuspendableProcessWorkerFactory}) whose
 * timers run in virtual time: the test decides when {@code suspendAfter} and the TTL run out, and
 * waits (bounded, never asserting how long) for the processes to save, exit and start. Closing it
 * closes the pool and the factory and asserts that every worker process it saw is gone.
 */
final class SuspendingPool implements AutoCloseable {

  static final Duration SUSPEND_AFTER = Duration.ofMinutes(1);
  static final Duration TTL = Duration.ofMinutes(10);
  /** A bound for waits on real processes: generous, for two busy shared cores. */
  static final Duration PATIENCE = Duration.ofSeconds(60);

  private static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  final VirtualTime time = new VirtualTime();
  final SuspendableProcessWorkerFactory factory = new SuspendableProcessWorkerFactory();
  final RecordingListener events = new RecordingListener();
  final LocalSessionPool pool;
  private final Set<Long> pidsSeen = ConcurrentHashMap.newKeySet();

  SuspendingPool(PoolConfig.Builder config) {
    this.pool =
        (LocalSessionPool)
            SessionPool.builder(config.build(), factory)
                .ticker(time)
                .scheduler(time)
                .listener(events)
                .listener(
                    new PoolListener() {
                      @Override
                      public void workerStarted(Worker worker) {
                        worker.pid().ifPresent(pidsSeen::add);
                      }
                    })
                .build();
  }

  static PoolConfig.Builder config() {
    return PoolConfig.builder()
        .name("suspend")
        .min(0)
        .max(4)
        .warm(0)
        .acquireTimeout(Duration.ofMinutes(30))
        .ttl(TTL)
        .suspendAfter(SUSPEND_AFTER)
        .healthInterval(Duration.ofHours(1));
  }

  /** Acquires {@code key} and waits (bounded) for the lease. */
  SessionLease lease(String key) {
    return await(pool.acquire(key));
  }

  static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("waiting for " + f, e);
    }
  }

  /** Advances virtual time, then waits until {@code condition} holds (real processes move). */
  void advanceUntil(Duration d, String what, BooleanSupplier condition) {
    time.advance(d);
    awaitCondition(what, condition);
  }

  static void awaitCondition(String what, BooleanSupplier condition) {
    Awaitility.await(what).atMost(PATIENCE).pollInterval(Duration.ofMillis(20))
        .until(condition::getAsBoolean);
  }

  /** The counter the lease's worker reports: the state a suspension must keep. */
  static int count(SessionLease lease) {
    String body = get(lease, "/count"); // "count=N pid=P"
    return Integer.parseInt(body.substring("count=".length(), body.indexOf(' ')));
  }

  static String get(SessionLease lease, String path) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(lease.worker().address().resolve(path))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("GET %s on %s", path, lease.worker().id()).isEqualTo(200);
      return r.body().trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Override
  public void close() {
    pool.close();
    factory.close();
    for (long pid : pidsSeen) {
      awaitCondition("worker process " + pid + " gone", () -> !alive(pid));
    }
  }
}
