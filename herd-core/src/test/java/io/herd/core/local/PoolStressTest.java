package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.HerdException;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.WorkerInfo;
import io.herd.core.WorkerStartException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Many threads acquire, hold, close and end random sessions while a killer SIGKILLs random
 * workers and TTLs and evictions fire. Invariant checked on every lease: a worker never has open
 * leases from two different sessions. After quiescence the pool's own view is consistent and,
 * once closed, no process is left.
 */
class PoolStressTest {

  private static final int THREADS = 8;
  private static final int KEYS = 16;
  private static final int MAX = 6;

  /** Open leases per worker, and the key they belong to. */
  private record Holders(String key, int open) {}

  @ParameterizedTest(name = "evictIdleOnPressure={0}, reuse={1}")
  @CsvSource({"true, true, 150", "false, true, 150", "true, false, 30"})
  void invariantsHoldUnderRandomAcquiresEndsAndKills(boolean evict, boolean reuse, int ops)
      throws Exception {
    try (PoolFixture f =
        new PoolFixture(
            PoolFixture.config()
                .reuse(reuse)
                .max(MAX)
                .maxQueue(1000)
                .acquireTimeout(Duration.ofSeconds(3))
                .ttl(Duration.ofMillis(200))
                .evictIdleOnPressure(evict)
                .healthInterval(Duration.ofMillis(250)))) {
      Map<String, Holders> holders = new ConcurrentHashMap<>();
      List<String> violations = new CopyOnWriteArrayList<>();
      Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
      AtomicBoolean running = new AtomicBoolean(true);
      CountDownLatch start = new CountDownLatch(1);

      Thread killer =
          new Thread(
              () -> {
                while (running.get()) {
                  List<WorkerInfo> live = f.pool.workers();
                  if (!live.isEmpty()) {
                    WorkerInfo w = live.get(ThreadLocalRandom.current().nextInt(live.size()));
                    w.pid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
                    outcomes.computeIfAbsent("kills", k -> new AtomicInteger()).incrementAndGet();
                  }
                  sleep(400);
                }
              },
              "stress-killer");

      ExecutorService threads = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        done.add(
            threads.submit(
                () -> {
                  start.await();
                  ThreadLocalRandom rnd = ThreadLocalRandom.current();
                  for (int i = 0; i < ops; i++) {
                    String key = "k" + rnd.nextInt(KEYS);
                    if (rnd.nextInt(10) == 0) {
                      f.pool.end(key);
                      count(outcomes, "end");
                      continue;
                    }
                    SessionLease lease;
                    try {
                      lease = f.pool.acquire(key, Duration.ofSeconds(10));
                    } catch (AcquireTimeoutException | WorkerStartException e) {
                      count(outcomes, e.getClass().getSimpleName());
                      continue;
                    } catch (HerdException e) {
                      count(outcomes, "ended-while-pending");
                      continue;
                    }
                    String worker = lease.worker().id();
                    holders.compute(
                        worker,
                        (w, h) -> {
                          if (h != null && h.open() > 0 && !h.key().equals(key)) {
                            violations.add(w + " leased to " + key + " while " + h + " open");
                          }
                          return new Holders(key, h == null || !h.key().equals(key) ? 1 : h.open() + 1);
                        });
                    sleep(rnd.nextInt(4));
                    holders.computeIfPresent(
                        worker, (w, h) -> h.key().equals(key) ? new Holders(key, h.open() - 1) : h);
                    lease.close();
                    count(outcomes, "served");
                  }
                  return null;
                }));
      }
      killer.start();
      start.countDown();
      try {
        for (Future<?> d : done) {
          d.get(180, TimeUnit.SECONDS); // no operation may hang
        }
      } finally {
        running.set(false);
        killer.join(5_000);
        threads.shutdownNow();
      }

      System.out.println("stress outcomes: " + outcomes + ", stats: " + f.pool.stats());
      assertThat(violations).as("a worker leased to two sessions at once").isEmpty();
      assertThat(outcomes.get("served").get())
          .as("outcomes %s", outcomes)
          .isGreaterThan(THREADS * ops / 2);
      assertThat(outcomes.get("kills").get()).isGreaterThan(3);

      // Quiescence: the pool's own view must agree with itself.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                List<SessionInfo> sessions = f.pool.sessions();
                List<WorkerInfo> workers = f.pool.workers();
                Set<String> sessionWorkers =
                    sessions.stream().map(SessionInfo::workerId).collect(Collectors.toSet());
                assertThat(sessionWorkers).as("distinct workers").hasSize(sessions.size());
                for (SessionInfo s : sessions) {
                  assertThat(s.openLeases()).isZero();
                  assertThat(workers)
                      .as("session %s's worker is live and pinned to it", s.key())
                      .anySatisfy(
                          w -> {
                            assertThat(w.id()).isEqualTo(s.workerId());
                            assertThat(w.sessionKey()).hasValue(s.key());
                          });
                }
                assertThat(workers.stream().filter(w -> w.state() == WorkerInfo.State.BUSY))
                    .hasSize(sessions.size());
                assertThat(f.pool.stats().workers()).isLessThanOrEqualTo(MAX);
                assertThat(f.pool.stats().starting()).isZero();
                assertThat(f.pool.stats().queued()).isZero();
                assertThat(f.pool.stats().sessions()).isEqualTo(sessions.size());
              });
      assertThat(f.pool.stats().crashes())
          .as("every SIGKILL of a live worker is a crash")
          .isPositive();
    }
  }

  private static void count(Map<String, AtomicInteger> outcomes, String what) {
    outcomes.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
