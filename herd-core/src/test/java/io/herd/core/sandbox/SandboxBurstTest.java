package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * A burst of new keys on a small pool at {@code max}, with eviction and {@code reuse: false},
 * on real sandboxed workers (the default sandbox; needs root): every request is answered, each key
 * by a fresh process of its own, never more than {@code max} worker processes exist at once (the
 * kernel's view, sampled every millisecond), and once the pool and its factory have closed nothing
 * of any worker remains ({@link SandboxFixture}). Correctness only: how fast is for {@code
 * BurstHandoffBenchmark}.
 */
class SandboxBurstTest {

  private static final int KEYS = 40;
  private static final int MAX = 4;

  @Test
  void burstOfNewKeysAtMaxIsAnsweredByOneFreshProcessPerKeyWithinMax() throws Exception {
    SandboxFixture.assumeSandboxHost();
    AtomicInteger mostAlive = new AtomicInteger();
    AtomicBoolean sampling = new AtomicBoolean(true);
    Thread sampler = new Thread(() -> {
      while (sampling.get()) {
        int n = (int) ProcessHandle.current().children()
            .filter(c -> c.info().command().map(cmd -> cmd.contains("herd-launch")).orElse(false))
            .count(); // a zombie has no command: it has exited
        mostAlive.accumulateAndGet(n, Math::max);
        LockSupport.parkNanos(1_000_000);
      }
    }, "burst-test-sampler");
    sampler.setDaemon(true);
    List<String> workerIds = new ArrayList<>();
    List<Long> workerPids = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(KEYS);
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv());
      PoolConfig config = PoolConfig.builder().name("burst").min(0).warm(0).max(MAX)
          .maxQueue(KEYS).reuse(false).evictIdleOnPressure(true)
          .acquireTimeout(Duration.ofMinutes(3)).healthInterval(Duration.ofHours(1)).build();
      sampler.start();
      try (SessionPool pool = SessionPool.create(config, factory)) {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String[]>> answers = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          String key = "key-" + i;
          answers.add(clients.submit(() -> {
            go.await();
            try (SessionLease lease = pool.acquire(key, Duration.ofMinutes(3))) {
              ProcessWorker worker = (ProcessWorker) lease.worker();
              return new String[] {worker.id(), Long.toString(worker.pid().orElseThrow()),
                  get(worker, "/count")};
            }
          }));
        }
        go.countDown();
        for (Future<String[]> answer : answers) {
          String[] a = answer.get(5, TimeUnit.MINUTES); // a hang guard, not a timing claim
          workerIds.add(a[0]);
          workerPids.add(Long.parseLong(a[1]));
          assertThat(a[2]).as("the first request %s's process ever served", a[0]).isEqualTo("1");
        }
        assertThat(pool.stats().evictions()).isGreaterThanOrEqualTo(KEYS - MAX);
      }
    } finally {
      sampling.set(false);
      sampler.join();
      clients.shutdownNow();
    }
    assertThat(workerIds).as("every key answered").hasSize(KEYS);
    assertThat(new HashSet<>(workerIds)).as("each key its own worker").hasSize(KEYS);
    Set<Long> pids = new HashSet<>(workerPids);
    assertThat(pids).as("each key its own process").hasSize(KEYS);
    assertThat(mostAlive.get()).as("worker processes alive at once").isBetween(1, MAX);
  }
}
