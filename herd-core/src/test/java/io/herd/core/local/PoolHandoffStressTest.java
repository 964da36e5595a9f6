package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;

/**
 * Bursts of new keys at {@code max} with eviction and {@code reuse: false}, from many threads,
 * against a factory whose preparations, starts and stops take random, overlapping times on threads
 * of their own, so that successors are prepared while victims stop, victims exit while successors
 * start, and gates open from every thread. Invariants, checked on every event rather than
 * sampled:
 *
 * <ul>
 *   <li>at no process start are more than {@code max} processes alive (counted by the factory:
 *       from a start until its exit, the ground truth {@code max} must bound);
 *   <li>no process starts before its gate opened;
 *   <li>every key gets a fresh worker of its own: no worker serves two keys;
 *   <li>every acquire is served (the queue is large enough), and once the pool has closed every
 *       process has exited.
 * </ul>
 */
class PoolHandoffStressTest {

  private static final int MAX = 3;
  private static final int THREADS = 8;
  private static final int KEYS_PER_THREAD = 25;

  @RepeatedTest(10)
  void burstsOfNewKeysNeverExceedMaxAndEachKeyGetsItsOwnWorker() throws Exception {
    CountingFactory factory = new CountingFactory();
    PoolConfig config =
        PoolConfig.builder()
            .name("handoff-stress")
            .min(0)
            .max(MAX)
            .warm(0)
            .maxQueue(THREADS * KEYS_PER_THREAD)
            .reuse(false)
            .evictIdleOnPressure(true)
            .acquireTimeout(Duration.ofSeconds(60))
            .healthInterval(Duration.ofHours(1))
            .build();
    Map<String, String> keyOfWorker = new ConcurrentHashMap<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicInteger served = new AtomicInteger();
    ExecutorService clients = Executors.newFixedThreadPool(THREADS);
    try (SessionPool pool = SessionPool.create(config, factory)) {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        done.add(clients.submit(() -> {
          go.await();
          for (int i = 0; i < KEYS_PER_THREAD; i++) {
            String key = "t" + thread + "-k" + i;
            try (SessionLease lease = pool.acquire(key, Duration.ofSeconds(60))) {
              String other = keyOfWorker.putIfAbsent(lease.worker().id(), key);
              if (other != null && !other.equals(key)) {
                violations.add(lease.worker().id() + " served " + other + " and then " + key);
              }
              if (ThreadLocalRandom.current().nextBoolean()) {
                Thread.sleep(ThreadLocalRandom.current().nextInt(2));
              }
            }
            served.incrementAndGet();
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS); // a hang guard, not a timing claim
      }
    } finally {
      clients.shutdownNow();
      factory.close();
    }

    assertThat(factory.violations).as("processes started beyond max or before their gate")
        .isEmpty();
    assertThat(violations).as("a worker served two keys").isEmpty();
    assertThat(served.get()).isEqualTo(THREADS * KEYS_PER_THREAD);
    assertThat(factory.maxAlive.get()).isLessThanOrEqualTo(MAX);
    assertThat(factory.alive.get()).as("processes left after close").isZero();
    assertThat(factory.gated.get())
        .as("successors prepared while victims stopped (the path under test was reached)")
        .isPositive();
  }

  /**
   * Object workers with slow, random, asynchronous preparation, start and stop; counts alive
   * processes from each start to its exit and records every start beyond {@code MAX} or before
   * its gate.
   */
  private static final class CountingFactory implements WorkerFactory {
    final AtomicInteger alive = new AtomicInteger();
    final AtomicInteger maxAlive = new AtomicInteger();
    final AtomicInteger gated = new AtomicInteger();
    final List<String> violations = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService threads = Executors.newScheduledThreadPool(4, r -> {
      Thread t = new Thread(r, "counting-factory");
      t.setDaemon(true);
      return t;
    });

    @Override
    public CompletableFuture<Worker> spawn(String workerId) {
      return spawn(workerId, CompletableFuture.completedFuture(null));
    }

    @Override
    public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
      if (!mayStart.isDone()) {
        gated.incrementAndGet();
      }
      CompletableFuture<Worker> result = new CompletableFuture<>();
      // The preparation (a sandbox) runs while the gate may still be shut.
      later(() -> mayStart.whenComplete((v, e) -> {
        if (e != null) {
          result.completeExceptionally(e);
          return;
        }
        if (!mayStart.isDone()) {
          violations.add(workerId + " started before its gate opened");
        }
        int now = alive.incrementAndGet();
        maxAlive.accumulateAndGet(now, Math::max);
        if (now > MAX) {
          violations.add(workerId + " started as process " + now + " of max " + MAX);
        }
        CountingWorker w = new CountingWorker(workerId);
        later(() -> result.complete(w)); // readiness
      }));
      return result;
    }

    private void later(Runnable r) {
      long micros = ThreadLocalRandom.current().nextInt(1500);
      threads.schedule(r, micros, TimeUnit.MICROSECONDS);
    }

    @Override
    public void close() {
      threads.shutdown();
    }

    private final class CountingWorker implements Worker {
      private final String id;
      private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();
      private final AtomicInteger stops = new AtomicInteger();

      CountingWorker(String id) {
        this.id = id;
      }

      @Override
      public String id() {
        return id;
      }

      @Override
      public URI address() {
        return URI.create("http://127.0.0.1:1");
      }

      @Override
      public OptionalLong pid() {
        return OptionalLong.empty();
      }

      @Override
      public CompletableFuture<Boolean> checkHealth(Duration timeout) {
        return CompletableFuture.completedFuture(!exit.isDone());
      }

      @Override
      public CompletableFuture<WorkerExit> onExit() {
        return exit;
      }

      /** Exits a random moment later, on a factory thread: the victim's stop overlaps. */
      @Override
      public CompletableFuture<WorkerExit> stop() {
        if (stops.getAndIncrement() == 0) {
          later(() -> {
            alive.decrementAndGet(); // gone before anyone hears of the exit
            exit.complete(WorkerExit.stopped(0));
          });
        }
        return exit;
      }
    }
  }
}
