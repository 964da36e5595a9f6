package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.core.PoolClosedException;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionLease;
import io.herd.core.WorkerInfo;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Sizing, reuse, recycling, eviction, explicit end and shutdown. */
class PoolLifecycleTest {

  @Test
  void minAndWarmWorkersAreReadyBeforeAnySession() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().min(2).warm(1).max(4))) {
      await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.stats().idle() == 2);
      try (SessionLease lease = f.acquire("a")) {
        assertThat(lease.waited()).as("served by a warm worker").isLessThan(Duration.ofMillis(100));
        // One idle spare is kept: taking one starts none while min still covers warm...
        await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.stats().idle() >= 1);
      }
      try (SessionLease b = f.acquire("b")) {
        assertThat(b.newSession()).isTrue();
        // ...and taking the last idle one spawns a new spare.
        await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.stats().idle() == 1);
        assertThat(f.pool.stats().workers()).isEqualTo(3);
      }
    }
  }

  @Test
  void byDefaultAFreedWorkerIsReplacedByAFreshProcess() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(1))) {
      long first;
      try (SessionLease lease = f.acquire("a")) {
        first = PoolFixture.pidOf(lease);
      }
      f.pool.end("a");
      assertThat(Processes.awaitGone(first, Duration.ofSeconds(10))).isTrue();
      try (SessionLease lease = f.acquire("b")) {
        assertThat(PoolFixture.pidOf(lease)).isNotEqualTo(first);
        assertThat(PoolFixture.get(lease, "/count")).as("no state carried over").isEqualTo("1");
      }
    }
  }

  @Test
  void aDrainedWorkerFinishesItsSessionThenStopsAndServesNoOther() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().reuse(true).min(1).max(2))) {
      long pid;
      String id;
      try (SessionLease lease = f.acquire("a")) {
        pid = PoolFixture.pidOf(lease);
        id = lease.worker().id();
        assertThat(f.pool.drain(id)).as("drain of a live worker").isTrue();
        assertThat(f.pool.workers()).filteredOn(w -> w.id().equals(id))
            .singleElement().satisfies(w -> {
              assertThat(w.draining()).isTrue();
              assertThat(w.sessionKey()).as("its session is untouched").contains("a");
            });
        assertThat(PoolFixture.get(lease, "/count")).as("it still serves its session")
            .isEqualTo("1");
      }
      try (SessionLease again = f.acquire("a")) {
        assertThat(again.worker().id()).as("the session stays on it").isEqualTo(id);
      }
      f.pool.end("a");
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(10)))
          .as("stopped once its session ended, though reuse is on").isTrue();
      try (SessionLease next = f.acquire("b")) {
        assertThat(next.worker().id()).isNotEqualTo(id);
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(f.events.of("workerStopped")).as("stopped, not crashed")
              .anyMatch(e -> e.subject().equals(id)));
      assertThat(f.events.of("workerCrashed")).noneMatch(e -> e.subject().equals(id));
    }
  }

  @Test
  void aDrainedIdleWorkerStopsAtOnceAndMinIsRefilled() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().min(1).max(2))) {
      await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.workers().size() == 1
          && f.pool.stats().idle() == 1);
      WorkerInfo idle = f.pool.workers().get(0);
      assertThat(f.pool.drain(idle.id())).isTrue();
      assertThat(Processes.awaitGone(idle.pid().getAsLong(), Duration.ofSeconds(10))).isTrue();
      await().atMost(Duration.ofSeconds(20)).until(() -> f.pool.stats().idle() == 1);
      assertThat(f.pool.workers()).extracting(WorkerInfo::id).doesNotContain(idle.id());
      assertThat(f.pool.drain("w-nonexistent")).as("an unknown id").isFalse();
    }
  }

  @Test
  void maxSessionsPerWorkerRecyclesAfterThatManySessions() {
    try (PoolFixture f =
        new PoolFixture(PoolFixture.config().reuse(true).max(1).maxSessionsPerWorker(2))) {
      long[] pids = new long[3];
      for (int i = 0; i < 3; i++) {
        try (SessionLease lease = f.acquire("s" + i)) {
          pids[i] = PoolFixture.pidOf(lease);
        }
        f.pool.end("s" + i);
      }
      assertThat(pids[1]).as("second session reuses the worker").isEqualTo(pids[0]);
      assertThat(pids[2]).as("third session gets a fresh one").isNotEqualTo(pids[0]);
    }
  }

  @Test
  void pressureEvictsTheLeastRecentlyUsedIdleSession() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(2).evictIdleOnPressure(true))) {
      SessionLease older = v.lease("older");
      older.close();
      v.advance(Duration.ofSeconds(1));
      v.lease("newer").close();
      try (SessionLease lease = v.lease("incoming")) {
        assertThat(lease.newSession()).isTrue();
        assertThat(lease.worker().id()).as("a fresh worker, by default").isNotEqualTo(older.worker().id());
      }
      assertThat(v.events.of("sessionEnded"))
          .singleElement()
          .satisfies(
              e -> {
                assertThat(e.subject()).isEqualTo("older");
                assertThat(e.detail()).isEqualTo("EVICTED");
              });
      assertThat(v.pool.stats().evictions()).isEqualTo(1);
      assertThat(v.factory.worker(older.worker().id()).stopRequested()).isTrue();
      assertThat(v.factory.maxProcesses()).as("never more than max processes").isEqualTo(2);
    }
  }

  @Test
  void pressureNeverEvictsASessionWithAnOpenLease() {
    Duration timeout = Duration.ofSeconds(30);
    try (VirtualPool v =
        new VirtualPool(
            VirtualPool.config().max(1).evictIdleOnPressure(true).acquireTimeout(timeout))) {
      SessionLease busy = v.lease("busy");
      CompletableFuture<SessionLease> incoming = v.pool.acquire("incoming");
      v.advance(timeout);
      assertThat(incoming)
          .failsWithin(Duration.ZERO)
          .withThrowableThat()
          .havingCause()
          .isInstanceOf(io.herd.core.AcquireTimeoutException.class);
      assertThat(v.events.count("sessionEnded")).isZero();
      busy.close();
      // Now idle, it gives way to the next newcomer.
      try (SessionLease lease = v.lease("incoming")) {
        assertThat(lease.newSession()).isTrue();
      }
      assertThat(v.events.count("sessionEnded", "EVICTED")).isEqualTo(1);
    }
  }

  @Test
  void aSessionThatGoesIdleWhileOthersQueueIsEvictedForThemAtOnce() {
    // Regression: eviction used to wait for the next acquire or the TTL, not the lease close.
    try (VirtualPool v =
        new VirtualPool(
            VirtualPool.config().max(1).evictIdleOnPressure(true).ttl(Duration.ofMinutes(5)))) {
      SessionLease busy = v.lease("busy");
      CompletableFuture<SessionLease> waiting = v.pool.acquire("waiting");
      v.advance(Duration.ofSeconds(10));
      assertThat(waiting).isNotDone();
      busy.close();
      assertThat(waiting).as("served when the lease closed, not later").isCompleted();
      assertThat(v.events.count("sessionEnded", "EVICTED")).isEqualTo(1);
    }
  }

  @Test
  void endingASessionWithAnOpenLeaseStopsItsWorkerRatherThanSharingIt() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(2))) {
      SessionLease open = f.acquire("a");
      long pid = open.worker().pid().orElseThrow();
      assertThat(f.pool.end("a")).isTrue();
      assertThat(f.pool.end("a")).as("already ended").isFalse();
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(10))).isTrue();
      assertThat(f.events.count("sessionEnded", "RELEASED")).isEqualTo(1);
      open.close(); // closing a lease of an ended session is harmless
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(f.pool.workers())
                      .extracting(WorkerInfo::id)
                      .doesNotContain(open.worker().id()));
      assertThat(f.events.count("workerStopped")).isEqualTo(1);
    }
  }

  @Test
  void shutdownFailsWaitersEndsSessionsAndLeavesNoProcess() throws Exception {
    PoolFixture f = new PoolFixture(PoolFixture.config().max(1).min(1));
    SessionLease lease = f.acquire("a");
    CompletableFuture<SessionLease> waiting = f.pool.acquire("b");
    f.close(); // asserts every worker process is gone
    assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(PoolClosedException.class);
    assertThat(f.events.count("sessionEnded", "SHUTDOWN")).isEqualTo(1);
    assertThat(f.events.count("workerStopped")).isEqualTo(1);
    assertThatThrownBy(() -> f.pool.acquire("c").get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(PoolClosedException.class);
    lease.close();
    f.pool.close(); // idempotent
    assertThat(Processes.descendantsOf(ProcessHandle.current()))
        .as("no descendant processes after shutdown")
        .isEmpty();
  }

  /**
   * Issue 8, item 7: {@code close()} waited for in-flight spawns to complete but not for their
   * workers to exit, so a worker that was still starting outlived the pool by its stop grace.
   */
  @Test
  void closeReturnsOnlyAfterTheWorkersOfInFlightSpawnsHaveExited() {
    PoolFixture f =
        new PoolFixture(
            PoolFixture.config().min(1),
            TestWorkerCommand.argv("--start-delay", "700", "--ignore-sigterm"));
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  Processes.descendantsOf(ProcessHandle.current()).stream()
                      .anyMatch(p -> p.info().commandLine().orElse("").contains("--start-delay")));
      assertThat(f.pool.stats().starting()).as("the spawn is in flight").isEqualTo(1);
      f.pool.close();
      assertThat(Processes.descendantsOf(ProcessHandle.current()))
          .as("processes left when close() returned")
          .noneMatch(p -> p.info().commandLine().orElse("").contains("--start-delay"));
    } finally {
      f.close();
    }
  }

  /**
   * Issue 8, item 7: ending a session that was still waiting for its worker failed its acquirers
   * with a bare {@code HerdException}, which a gateway cannot tell from an internal error.
   */
  @Test
  void endingAPendingSessionFailsItsAcquirersWithSessionEndedException() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(1))) {
      SessionLease holder = f.acquire("holder");
      CompletableFuture<SessionLease> waiting = f.pool.acquire("pending");
      assertThat(f.pool.end("pending")).isTrue();
      assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(SessionEndedException.class)
          .hasMessageContaining("'pending'");
      holder.close();
    }
  }
}
