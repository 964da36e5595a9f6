package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerUidsTest {

  @Test
  void aTakeHandsOutASpareLeasedAheadAndTheSparesAreToppedUp(@TempDir Path dir)
      throws Exception {
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), Set::of);
    try (WorkerUids uids = new WorkerUids(leases, 300_000, 300_009, dir.resolve("workers"),
        WorkerUids.SPARES)) {
      assertThat(uids.spareUids()).as("nothing is leased before the first take").isEmpty();
      assertThat(leases.leased()).isEmpty();

      int first = uids.take(); // no spare yet: leased on this thread
      await().atMost(Duration.ofSeconds(30))
          .until(() -> uids.spareUids().size() == WorkerUids.SPARES);
      List<Integer> spares = uids.spareUids();
      assertThat(leases.leased()).as("the spares are real leases")
          .containsExactlyInAnyOrderElementsOf(with(spares, first));

      int second = uids.take();

      assertThat(second).as("the oldest spare").isEqualTo(spares.get(0));
      assertThat(second).isNotEqualTo(first);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> uids.spareUids().size() == WorkerUids.SPARES);
      assertThat(uids.spareUids()).doesNotContain(first, second);
      leases.release(first);
      leases.release(second);
    }
    assertThat(leases.leased()).as("close releases the spares").isEmpty();
  }

  @Test
  void anExhaustedRangeFailsTheTakeOnceTheSparesAreGone(@TempDir Path dir) throws Exception {
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), Set::of);
    try (WorkerUids uids = new WorkerUids(leases, 300_000, 300_002, dir.resolve("workers"),
        WorkerUids.SPARES)) {
      Set<Integer> taken = new HashSet<>();
      taken.add(uids.take());
      await().atMost(Duration.ofSeconds(30))
          .until(() -> uids.spareUids().size() == WorkerUids.SPARES);
      taken.add(uids.take()); // spares: the whole range is handed out, not held back
      taken.add(uids.take());

      assertThat(taken).containsExactlyInAnyOrder(300_000, 300_001, 300_002);
      assertThatThrownBy(uids::take).isInstanceOf(IOException.class)
          .hasMessageStartingWith("sandbox.uidRange is exhausted: 300000-300002");
      leases.release(300_001);
      assertThat(uids.take()).as("a released UID is leased again").isEqualTo(300_001);
      taken.forEach(leases::release);
    }
    assertThat(leases.leased()).isEmpty();
  }

  @Test
  void takeAfterCloseFails(@TempDir Path dir) {
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), Set::of);
    WorkerUids uids = new WorkerUids(leases, 300_000, 300_009, dir.resolve("workers"), 2);
    uids.close();

    assertThatThrownBy(uids::take).isInstanceOf(IOException.class)
        .hasMessage("the worker sandbox is closed");
    assertThat(leases.leased()).isEmpty();
  }

  /**
   * Stress: threads take and release at once while the refill thread leases spares and the
   * sandbox is finally closed. Invariants: no UID is held by two takers at once, every take is a
   * lease of the host-wide directory, and after close nothing is leased but what takers still
   * hold (here: nothing).
   */
  @Test
  void concurrentTakesNeverHandOutOneUidTwiceAndCloseLeavesNothingLeased(@TempDir Path dir)
      throws Exception {
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), Set::of);
    int threads = 4;
    int rounds = 200;
    Set<Integer> held = ConcurrentHashMap.newKeySet();
    List<String> violations = new ArrayList<>();
    WorkerUids uids = new WorkerUids(leases, 300_000, 300_015, dir.resolve("workers"),
        WorkerUids.SPARES);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < rounds; i++) {
            int uid = uids.take();
            if (!held.add(uid)) {
              synchronized (violations) {
                violations.add("UID " + uid + " handed out while held");
              }
            }
            if (!leases.leased().contains(uid)) {
              synchronized (violations) {
                violations.add("UID " + uid + " handed out without a lease");
              }
            }
            held.remove(uid);
            leases.release(uid);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      uids.close();
    }

    assertThat(violations).isEmpty();
    assertThat(leases.leased()).as("nothing leased after close").isEmpty();
  }

  private static List<Integer> with(List<Integer> list, int one) {
    List<Integer> all = new ArrayList<>(list);
    all.add(one);
    return all;
  }
}
