package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.testing.ScriptedWorker;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The hand-off at {@code max} with {@code evictIdleOnPressure} and {@code reuse: false}: idle
 * sessions are evicted as many at once as sessions wait, their successors are prepared while the
 * victims stop (a spawn with a {@code mayStart} gate) and start only once a victim has exited, in
 * the order the waiters came. Deterministic: the victims' stops finish when the test says.
 */
class PoolHandoffTest {

  private static PoolConfig.Builder config(int max) {
    return VirtualPool.config().max(max).reuse(false).evictIdleOnPressure(true);
  }

  @Test
  void evictsAsManyIdleSessionsAsWaitersAndPreparesTheirSuccessorsBeforeTheVictimsExit() {
    try (VirtualPool p = new VirtualPool(config(2))) {
      p.lease("a").close();
      p.lease("b").close();
      p.factory.exitOnStop(false);

      CompletableFuture<SessionLease> c = p.pool.acquire("c");
      CompletableFuture<SessionLease> d = p.pool.acquire("d");

      List<ScriptedWorker> victims = p.factory.workers();
      assertThat(victims).as("both idle sessions' workers asked to stop at once")
          .allMatch(ScriptedWorker::stopRequested);
      assertThat(p.events.count("sessionEnded", "EVICTED")).isEqualTo(2);
      assertThat(p.factory.preparedRequests())
          .as("successors prepared while the victims stop").isEqualTo(2);
      assertThat(p.factory.spawnRequests()).as("but none started").isEqualTo(2);
      assertThat(p.factory.processes()).isEqualTo(2);
      assertThat(p.pool.stats().starting()).as("preparing counts as starting").isEqualTo(2);
      assertThat(c).isNotDone();
      assertThat(d).isNotDone();

      victims.get(1).finishStop(); // the second victim exits first
      assertThat(p.factory.spawnRequests()).as("one slot freed, one started").isEqualTo(3);
      assertThat(c).as("the first waiter gets the first new worker").isDone();
      assertThat(d).isNotDone();
      assertThat(p.factory.maxProcesses()).isEqualTo(2);

      victims.get(0).finishStop();
      assertThat(d).isDone();
      assertThat(p.factory.spawnRequests()).isEqualTo(4);
      assertThat(p.factory.maxProcesses()).as("never more than max processes").isEqualTo(2);
      assertThat(c.join().worker().id()).isNotEqualTo(d.join().worker().id());
      assertThat(List.of(c.join().worker().id(), d.join().worker().id()))
          .as("each new key its own fresh worker")
          .doesNotContainAnyElementsOf(victims.stream().map(ScriptedWorker::id).toList());
      c.join().close();
      d.join().close();
    }
  }

  @Test
  void noSuccessorIsPreparedBeyondTheWorkersBeingStopped() {
    try (VirtualPool p = new VirtualPool(config(2))) {
      p.lease("a").close();
      SessionLease b = p.lease("b"); // held: not evictable
      p.factory.exitOnStop(false);

      CompletableFuture<SessionLease> c = p.pool.acquire("c");
      CompletableFuture<SessionLease> d = p.pool.acquire("d");
      CompletableFuture<SessionLease> e = p.pool.acquire("e");

      assertThat(p.events.count("sessionEnded", "EVICTED")).isEqualTo(1);
      assertThat(p.factory.preparedRequests()).as("one victim, one successor").isEqualTo(1);
      assertThat(p.pool.stats().queued()).isEqualTo(3);

      b.close(); // now evictable too
      assertThat(p.events.count("sessionEnded", "EVICTED")).isEqualTo(2);
      assertThat(p.factory.preparedRequests()).isEqualTo(2);
      assertThat(p.factory.processes()).isEqualTo(2);

      p.factory.exitOnStop(true);
      p.factory.workers().stream().filter(ScriptedWorker::stopRequested)
          .forEach(ScriptedWorker::finishStop);
      assertThat(c).isDone();
      assertThat(d).isDone();
      assertThat(e).as("no idle session left to evict for the third").isNotDone();
      assertThat(p.factory.maxProcesses()).isEqualTo(2);

      c.join().close(); // idle now: evicted for e, whose successor may start at once
      assertThat(e).isDone();
      assertThat(p.factory.maxProcesses()).isEqualTo(2);
      d.join().close();
      e.join().close();
    }
  }

  @Test
  void closingThePoolRefusesPreparedSpawnsQuietlyAndStartsNothing() {
    VirtualPool p = new VirtualPool(config(1));
    p.lease("a").close();
    p.factory.exitOnStop(false);
    CompletableFuture<SessionLease> b = p.pool.acquire("b");
    assertThat(p.factory.preparedRequests()).isEqualTo(1);

    CompletableFuture<Void> done = p.pool.shutdown();
    assertThat(b).as("the waiter fails with the close").isCompletedExceptionally();
    assertThat(done).as("the victim still stops").isNotDone();
    p.factory.workers().get(0).finishStop();

    assertThat(done).isDone();
    assertThat(p.factory.spawnRequests()).as("the prepared spawn never started").isEqualTo(1);
    assertThat(p.factory.processes()).isZero();
    assertThat(p.events.count("spawnFailed")).as("a refused spawn is no failure").isZero();
    assertThat(p.pool.stats().spawnFailures()).isZero();
    p.close();
  }
}
