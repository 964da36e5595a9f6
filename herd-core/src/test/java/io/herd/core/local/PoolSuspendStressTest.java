package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many threads acquire and release a few keys while suspensions fire all the time (a 1 ms {@code
 * suspendAfter} on the system clock) and resumes race them, with fewer worker slots than keys. The
 * workers are objects in this JVM whose spawn, save and resume complete on other threads after a
 * random delay, so thousands of suspensions run in seconds and every interleaving the timing
 * allows gets its chance. Only invariants are checked, never times:
 *
 * <ul>
 *   <li>never two live workers for one session;
 *   <li>no lease on a worker that is being saved or has gone, for as long as the lease is open;
 *   <li>no lost waiter: every acquire completes with a lease;
 *   <li>live workers never exceed {@code max};
 *   <li>every saved state is resumed or discarded, exactly once, by the time the pool is closed.
 * </ul>
 */
class PoolSuspendStressTest {

  private static final int THREADS = 6;
  private static final int REPETITIONS = 400;
  private static final int KEYS = 5;
  private static final int MAX = 3;

  /**
   * @param underPressure whether {@code evictIdleOnPressure} is on, which suspends idle sessions
   *     for waiters too, from inside the allocator's decisions
   */
  @ParameterizedTest(name = "evictIdleOnPressure={0}")
  @ValueSource(booleans = {false, true})
  void invariantsHoldWhileSuspensionsAndResumesRaceAcquires(boolean underPressure)
      throws Exception {
    AsyncFactory factory = new AsyncFactory();
    SessionTracker tracker = new SessionTracker();
    PoolConfig config =
        PoolConfig.builder()
            .name("suspend-stress")
            .min(0)
            .max(MAX)
            .warm(0)
            .acquireTimeout(Duration.ofSeconds(20))
            .ttl(Duration.ofHours(1))
            .suspendAfter(Duration.ofMillis(1))
            .evictIdleOnPressure(underPressure)
            .healthInterval(Duration.ofHours(1))
            .build();
    SessionPool pool = SessionPool.builder(config, factory).listener(tracker).build();
    List<String> problems = new CopyOnWriteArrayList<>();
    AtomicLong leases = new AtomicLong();
    ExecutorService threads = Executors.newFixedThreadPool(THREADS);
    CountDownLatch start = new CountDownLatch(1);
    List<CompletableFuture<Void>> done = new ArrayList<>();
    try {
      for (int t = 0; t < THREADS; t++) {
        done.add(
            CompletableFuture.runAsync(
                () -> {
                  await(start);
                  ThreadLocalRandom random = ThreadLocalRandom.current();
                  for (int i = 0; i < REPETITIONS; i++) {
                    String key = "k" + random.nextInt(KEYS);
                    SessionLease lease;
                    try {
                      lease = pool.acquire(key, Duration.ofSeconds(20));
                    } catch (Exception e) {
                      problems.add("acquire of " + key + " failed: " + e);
                      return; // one is enough; the others would wait as long
                    }
                    leases.incrementAndGet();
                    FakeWorker w = (FakeWorker) lease.worker();
                    check(problems, "at lease", key, w, tracker);
                    if (random.nextInt(4) == 0) {
                      Thread.yield();
                    }
                    check(problems, "at release", key, w, tracker);
                    lease.close();
                    if (random.nextInt(3) == 0) {
                      sleepMicros(random.nextInt(3000)); // let some idle sessions be suspended
                    }
                  }
                },
                threads));
      }
      start.countDown();
      try {
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
      } catch (java.util.concurrent.TimeoutException e) {
        problems.add("acquiring threads still blocked after 5 minutes: a lost waiter");
      }
    } finally {
      threads.shutdownNow();
      pool.close();
      factory.close();
    }

    assertThat(problems).as("problems seen by the acquiring threads").isEmpty();
    assertThat(tracker.maxLivePerSession.get())
        .as("live workers of one session")
        .isLessThanOrEqualTo(1);
    assertThat(leases.get()).isEqualTo((long) THREADS * REPETITIONS);
    assertThat(factory.maxLive.get()).as("live workers at most max").isLessThanOrEqualTo(MAX);
    assertThat(factory.live.get()).as("live workers after close").isZero();
    assertThat(factory.states.size()).as("suspensions happened").isGreaterThan(50);
    for (CountingState s : factory.states) {
      assertThat(s.resumes.get() + s.discards.get())
          .as("%s resumed or discarded exactly once", s)
          .isEqualTo(1);
    }
  }

  private static void check(
      List<String> problems, String when, String key, FakeWorker w, SessionTracker tracker) {
    if (w.saving) {
      problems.add(when + ": lease of " + key + " on " + w.id + ", which is being saved");
    }
    if (w.exit.isDone()) {
      problems.add(when + ": lease of " + key + " on " + w.id + ", which has gone");
    }
    String served = tracker.keyOf.get(w.id);
    if (served != null && !served.equals(key)) {
      problems.add(when + ": lease of " + key + " on " + w.id + ", which serves " + served);
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleepMicros(long micros) {
    try {
      TimeUnit.MICROSECONDS.sleep(micros);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Knows which session each worker serves, from the pool's events, and counts the live workers
   * of each session whenever one starts serving it.
   */
  private static final class SessionTracker implements PoolListener {
    final AtomicLong sessions = new AtomicLong();
    final Map<String, Long> sessionOfKey = new ConcurrentHashMap<>();
    final Map<String, String> keyOf = new ConcurrentHashMap<>();
    final Map<FakeWorker, Long> sessionOf = new ConcurrentHashMap<>();
    final AtomicInteger maxLivePerSession = new AtomicInteger();

    @Override
    public void sessionStarted(String key, Worker worker) {
      long id = sessions.incrementAndGet();
      sessionOfKey.put(key, id);
      serve(key, id, (FakeWorker) worker);
    }

    @Override
    public void sessionResumed(String key, Worker worker) {
      serve(key, sessionOfKey.get(key), (FakeWorker) worker);
    }

    private void serve(String key, long session, FakeWorker w) {
      keyOf.put(w.id, key);
      sessionOf.put(w, session);
      int live = 0;
      for (Map.Entry<FakeWorker, Long> e : sessionOf.entrySet()) {
        if (e.getValue() == session && !e.getKey().exit.isDone()) {
          live++;
        }
      }
      maxLivePerSession.accumulateAndGet(live, Math::max);
    }
  }

  /** In-JVM workers; every start, save and resume completes later, on another thread. */
  private static final class AsyncFactory implements SuspendableWorkerFactory {
    final ScheduledExecutorService delays = Executors.newScheduledThreadPool(2);
    final AtomicInteger live = new AtomicInteger();
    final AtomicInteger maxLive = new AtomicInteger();
    final Set<CountingState> states = ConcurrentHashMap.newKeySet();

    private CompletableFuture<Worker> start(String workerId) {
      CompletableFuture<Worker> f = new CompletableFuture<>();
      maxLive.accumulateAndGet(live.incrementAndGet(), Math::max);
      FakeWorker w = new FakeWorker(workerId, live);
      later(() -> f.complete(w));
      return f;
    }

    @Override
    public CompletableFuture<Worker> spawn(String workerId) {
      return start(workerId);
    }

    @Override
    public CompletableFuture<SuspendedWorker> suspend(Worker worker) {
      FakeWorker w = (FakeWorker) worker;
      w.saving = true;
      CompletableFuture<SuspendedWorker> f = new CompletableFuture<>();
      later(
          () -> {
            w.exitNow(WorkerExit.stopped(0));
            CountingState s = new CountingState(w.id);
            states.add(s);
            f.complete(s);
          });
      return f;
    }

    @Override
    public CompletableFuture<Worker> resume(SuspendedWorker state, String workerId) {
      ((CountingState) state).resumes.incrementAndGet();
      return start(workerId);
    }

    private void later(Runnable r) {
      delays.schedule(r, ThreadLocalRandom.current().nextInt(500), TimeUnit.MICROSECONDS);
    }

    @Override
    public void close() {
      delays.shutdownNow();
    }
  }

  private static final class FakeWorker implements Worker {
    final String id;
    final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();
    final AtomicInteger live;
    volatile boolean saving;

    FakeWorker(String id, AtomicInteger live) {
      this.id = id;
      this.live = live;
    }

    void exitNow(WorkerExit how) {
      if (exit.complete(how)) {
        live.decrementAndGet();
      }
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

    @Override
    public CompletableFuture<WorkerExit> stop() {
      exitNow(WorkerExit.stopped(0));
      return exit;
    }
  }
}
