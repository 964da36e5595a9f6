package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SessionLease;
import io.herd.core.WorkerInfo;
import io.herd.core.testing.ScriptedWorker;
import io.herd.testkit.Processes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code pool.max} bounds the worker processes that exist — starting, serving and being stopped —
 * with real processes, and in virtual time for what the pool shows meanwhile.
 */
class PoolCapacityTest {

  /**
   * Issue 8, item 8: a worker being stopped still holds its memory, but was not counted against
   * {@code max}, so with {@code reuse: false} its successor started while it was still alive: two
   * processes under {@code max: 1}.
   */
  @Test
  void aReplacedWorkersSuccessorStartsOnlyOnceTheStoppedWorkerHasExited() throws Exception {
    // The worker ignores SIGTERM: stopping it takes the fixture's whole stop timeout (2 s).
    try (PoolFixture f =
        new PoolFixture(PoolFixture.config().max(1), "--ignore-sigterm")) {
      long first;
      try (SessionLease a = f.acquire("a")) {
        first = PoolFixture.pidOf(a);
      }
      f.pool.end("a");
      CompletableFuture<SessionLease> next = f.pool.acquire("b");
      SessionLease b = next.get(30, TimeUnit.SECONDS);
      assertThat(Processes.isAlive(first))
          .as("the stopped worker %d is gone before its successor serves", first)
          .isFalse();
      assertThat(PoolFixture.pidOf(b)).isNotEqualTo(first);
      b.close();
    }
  }

  @Test
  void aStoppingWorkerIsShownAndCountedUntilItHasExited() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1))) {
      v.factory.exitOnStop(false);
      SessionLease a = v.lease("a");
      a.close();
      v.pool.end("a");
      assertThat(v.pool.workers())
          .singleElement()
          .satisfies(
              w -> {
                assertThat(w.id()).isEqualTo(a.worker().id());
                assertThat(w.state()).isEqualTo(WorkerInfo.State.STOPPING);
                assertThat(w.sessionKey()).isEmpty();
              });
      assertThat(v.pool.stats().stopping()).isEqualTo(1);
      assertThat(v.pool.stats().workers()).as("processes that exist").isEqualTo(1);

      CompletableFuture<SessionLease> b = v.pool.acquire("b");
      assertThat(v.factory.spawnRequests()).as("successor spawned while the old one lives").isEqualTo(1);
      assertThat(b).isNotDone();
      v.factory.worker(a.worker().id()).finishStop();
      assertThat(b).as("served once the stopped worker exited").isCompleted();
      assertThat(v.pool.stats().stopping()).isZero();
      assertThat(v.factory.maxProcesses()).isEqualTo(1);
    }
  }

  @Test
  void countingStoppingWorkersNeitherDeadlocksNorStarvesTheQueue() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(2).maxQueue(100))) {
      v.factory.exitOnStop(false);
      List<CompletableFuture<SessionLease>> waiters = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        waiters.add(v.pool.acquire("s" + i));
      }
      List<String> served = new ArrayList<>();
      for (int round = 0; round < 100 && served.size() < 20; round++) {
        for (int i = 0; i < waiters.size(); i++) {
          CompletableFuture<SessionLease> w = waiters.get(i);
          if (w.isDone() && !served.contains("s" + i)) {
            SessionLease lease = w.join();
            served.add(lease.key());
            lease.close();
            v.pool.end(lease.key());
          }
        }
        v.factory.aliveWorkers().stream()
            .filter(ScriptedWorker::stopRequested)
            .forEach(ScriptedWorker::finishStop);
        assertThat(v.factory.processes()).isLessThanOrEqualTo(2);
      }
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        expected.add("s" + i);
      }
      assertThat(served).as("every waiter served, in arrival order").isEqualTo(expected);
      assertThat(v.factory.maxProcesses()).isEqualTo(2);
    }
  }
}
