package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.testing.ScriptedWorkerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;

/**
 * {@link SessionPool#reconfigure} concurrent with acquires, releases and ends on many threads,
 * {@code max} going up and down many times. Invariants: once a lowered {@code max} is published
 * and the excess above it has drained, the processes that exist never exceed it (checked at every
 * spawn, the only moment the count grows, during which the max did not change); a raised {@code
 * max} never lets it exceed the new
 * value; and no acquirer is lost: every acquire is served, none times out, none hangs.
 *
 * <p>Workers are scripted objects (a spawn and a stop complete at once), so the pool's own
 * concurrency is what is exercised, at thousands of operations per second; the process side of a
 * reconfigured pool is covered end to end by herd-server's {@code HotReloadTest}.
 */
class PoolReconfigureStressTest {

  private static final int THREADS = 8;
  private static final int KEYS = 24;
  private static final int OPS = 400;
  private static final int[] MAXES = {1, 6, 2, 8, 3, 5};

  /** No check while a lowered max drains. */
  private static final int UNCHECKED = Integer.MAX_VALUE;

  @RepeatedTest(3)
  void liveWorkersStayWithinEachPublishedMaxAndNoWaiterIsLost() throws Exception {
    ScriptedWorkerFactory scripted = new ScriptedWorkerFactory();
    // The max a spawn is held to, packed with a version that each change of it bumps: a spawn
    // whose window (max read, spawn, count read) saw the max change is not judged, since a max
    // raised in between may rightly be exceeded by the count against the old one.
    AtomicLong checkedMax = new AtomicLong(versioned(0, UNCHECKED));
    AtomicInteger checkedSpawns = new AtomicInteger();
    List<String> violations = new CopyOnWriteArrayList<>();
    WorkerFactory checking = workerId -> {
      long before = checkedMax.get(); // first: a count read after a max published is held to it
      CompletableFuture<Worker> f = scripted.spawn(workerId);
      int now = scripted.processes();
      int max = (int) before;
      if (checkedMax.get() == before && max != UNCHECKED) {
        checkedSpawns.incrementAndGet();
        if (now > max) {
          violations.add("spawn of " + workerId + " made " + now + " processes at max " + max);
        }
      }
      return f;
    };
    PoolConfig initial = PoolConfig.builder().name("stress").min(0).max(4).warm(1)
        .maxQueue(10_000).acquireTimeout(Duration.ofSeconds(60)).ttl(Duration.ofMillis(20))
        .healthInterval(Duration.ofMillis(50)).build();
    publish(checkedMax, initial.max());
    LocalSessionPool pool = (LocalSessionPool) SessionPool.create(initial, checking);
    Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    AtomicBoolean running = new AtomicBoolean(true);
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService threads = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        done.add(threads.submit(() -> {
          start.await();
          ThreadLocalRandom rnd = ThreadLocalRandom.current();
          for (int i = 0; i < OPS; i++) {
            String key = "k" + rnd.nextInt(KEYS);
            try (SessionLease lease = pool.acquire(key, Duration.ofSeconds(60))) {
              count(outcomes, "served");
              if (rnd.nextInt(4) == 0) {
                Thread.sleep(1);
              }
            } catch (RuntimeException e) {
              count(outcomes, e.getClass().getSimpleName());
            }
            if (rnd.nextBoolean()) {
              pool.end(key);
            }
          }
          return null;
        }));
      }
      Thread reconfigurer = new Thread(() -> {
        try {
          start.await();
          for (int round = 0; running.get(); round++) {
            int next = MAXES[round % MAXES.length];
            int before = pool.config().max();
            PoolConfig cfg = pool.config().toBuilder().max(next).warm(Math.min(1, next)).build();
            if (next >= before) {
              publish(checkedMax, next); // the count is within the old max, so within this one
              pool.reconfigure(cfg);
            } else {
              publish(checkedMax, UNCHECKED);
              pool.reconfigure(cfg);
              // Drained by the allocator's own count, which includes spawns it decided on but
              // whose spawn() call is still to come; the factory's count never exceeds it.
              await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(1))
                  .until(() -> pool.allocator().snapshot().workers().size() <= next);
              publish(checkedMax, next); // drained: from here on the new max holds
            }
            count(outcomes, "reconfigures");
            Thread.sleep(ThreadLocalRandom.current().nextInt(5));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "stress-reconfigurer");
      reconfigurer.start();
      start.countDown();
      try {
        for (Future<?> d : done) {
          d.get(180, TimeUnit.SECONDS); // a lost waiter would hang here
        }
      } finally {
        running.set(false);
        reconfigurer.join(70_000);
      }

      assertThat(violations).as("processes above a published max").isEmpty();
      assertThat(checkedSpawns.get()).as("spawns judged against a stable max").isPositive();
      // An acquirer may see its pending session ended by another thread's end(key): that is
      // SessionEndedException, an answer. A timeout or any other failure is a waiter lost.
      assertThat(outcomes.keySet())
          .as("outcomes %s", outcomes)
          .containsOnly("served", "SessionEndedException", "reconfigures")
          .contains("served");
      assertThat(outcomes.get("reconfigures").get()).as("outcomes %s", outcomes)
          .isGreaterThan(MAXES.length);
      int finalMax = pool.config().max();
      await().atMost(Duration.ofSeconds(30))
          .until(() -> scripted.processes() <= finalMax && pool.stats().queued() == 0);
    } finally {
      threads.shutdownNow();
      pool.close();
    }
    assertThat(scripted.processes()).as("workers left after close").isZero();
  }

  /** {@code max} in the low 32 bits, a version in the high ones. */
  private static long versioned(long version, int max) {
    return (version << 32) | (max & 0xffffffffL);
  }

  /** Publishes {@code max} with the next version. */
  private static void publish(AtomicLong checkedMax, int max) {
    checkedMax.updateAndGet(v -> versioned((v >>> 32) + 1, max));
  }

  private static void count(Map<String, AtomicInteger> outcomes, String what) {
    outcomes.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
  }
}
