package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One session key, one worker: affinity across leases and singleflight on first use. */
class PoolAffinityTest {

  @Test
  void everyKeyAlwaysReachesTheSameWorkerProcess() throws Exception {
    int keys = 50;
    // Affinity, not health, is under test: 50 worker JVMs on 2 busy cores can miss the fixture's
    // fast checks (3 x 500 ms) and be replaced as crashed, which rightly changes the session's
    // process. Checks that only a hung worker fails keep that out of this test.
    PoolConfig.Builder config = PoolFixture.config().max(keys)
        .healthInterval(Duration.ofSeconds(2)).healthTimeout(Duration.ofSeconds(10));
    try (PoolFixture f = new PoolFixture(config)) {
      Map<String, Set<Long>> pidsByKey = new ConcurrentHashMap<>();
      ExecutorService threads = Executors.newFixedThreadPool(8);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
          String key = "k" + (i % keys);
          done.add(
              threads.submit(
                  () -> {
                    try (SessionLease lease = f.acquire(key)) {
                      long pid = PoolFixture.pidOf(lease);
                      assertThat(ProcessHandle.of(pid).flatMap(ProcessHandle::parent)
                              .map(ProcessHandle::pid))
                          .as("the process answering is the one the worker's herd-launch forked")
                          .contains(lease.worker().pid().orElseThrow());
                      pidsByKey.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(pid);
                    }
                  }));
        }
        for (Future<?> d : done) {
          d.get(120, TimeUnit.SECONDS);
        }
      } finally {
        threads.shutdownNow();
      }
      assertThat(pidsByKey).hasSize(keys);
      pidsByKey.forEach(
          (key, pids) -> assertThat(pids).as("PIDs seen by session %s", key).hasSize(1));
      assertThat(pidsByKey.values().stream().flatMap(Set::stream).distinct().count())
          .as("no two sessions share a worker")
          .isEqualTo(keys);
      assertThat(f.pool.stats().spawns()).isEqualTo(keys);
      assertThat(f.events.count("sessionStarted")).isEqualTo(keys);
    }
  }

  @Test
  void concurrentFirstAcquiresOfOneKeySpawnExactlyOneWorker() throws Exception {
    int acquirers = 200;
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(4))) {
      for (int round = 0; round < 3; round++) {
        String key = "burst-" + round;
        long spawnsBefore = f.pool.stats().spawns();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(32);
        List<Future<SessionLease>> leases = new ArrayList<>();
        try {
          for (int i = 0; i < acquirers; i++) {
            leases.add(
                threads.submit(
                    () -> {
                      start.await();
                      return f.pool.acquire(key).get(30, TimeUnit.SECONDS);
                    }));
          }
          start.countDown();
          Set<String> workerIds = new java.util.HashSet<>();
          long newSessions = 0;
          for (Future<SessionLease> l : leases) {
            SessionLease lease = l.get(60, TimeUnit.SECONDS);
            workerIds.add(lease.worker().id());
            newSessions += lease.newSession() ? 1 : 0;
          }
          assertThat(workerIds).as("workers handed to %d acquirers", acquirers).hasSize(1);
          assertThat(newSessions).as("acquires that started the session").isEqualTo(1);
          assertThat(f.pool.stats().spawns() - spawnsBefore).as("spawns").isEqualTo(1);
          assertThat(f.pool.sessions())
              .filteredOn(s -> s.key().equals(key))
              .singleElement()
              .satisfies(s -> assertThat(s.openLeases()).isEqualTo(acquirers));
          for (Future<SessionLease> l : leases) {
            l.get().close();
          }
          assertThat(f.pool.sessions())
              .filteredOn(s -> s.key().equals(key))
              .singleElement()
              .satisfies(s -> assertThat(s.openLeases()).isZero());
        } finally {
          threads.shutdownNow();
        }
      }
    }
  }

  @Test
  void closingALeaseKeepsTheSessionPinned() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config())) {
      long first;
      try (SessionLease lease = f.acquire("a")) {
        first = PoolFixture.pidOf(lease);
        assertThat(PoolFixture.get(lease, "/count")).isEqualTo("1");
      }
      try (SessionLease lease = f.acquire("a")) {
        assertThat(PoolFixture.pidOf(lease)).isEqualTo(first);
        assertThat(PoolFixture.get(lease, "/count")).as("worker state survives").isEqualTo("2");
        assertThat(lease.newSession()).isFalse();
        assertThat(lease.waited()).isZero();
      }
    }
  }
}
