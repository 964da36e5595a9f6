package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SessionLease;
import io.herd.core.WorkerStartException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A worker that cannot start never becomes a hot loop: spawns back off, in virtual time. */
class PoolSpawnBackoffTest {

  private static final Duration NANO = Duration.ofNanos(1);

  @Test
  void repeatedSpawnFailuresBackOffExponentiallyUpToTheCap() {
    try (VirtualPool v =
        new VirtualPool(
            VirtualPool.config()
                .min(1)
                .spawnBackoffInitial(Duration.ofMillis(100))
                .spawnBackoffMax(Duration.ofMillis(400)))) {
      v.factory.startAtOnce(false);
      v.time.runDue();
      // The pool was built before startAtOnce(false): its first spawn succeeded; make it fail
      // from now on by crashing that worker and failing every spawn that follows.
      v.factory.workers().forEach(w -> w.crash("gone"));
      assertThat(v.factory.pendingSpawns()).as("the refill is immediate").hasSize(1);
      for (long delayMillis : new long[] {100, 200, 400, 400, 400}) {
        v.factory.failSpawn(v.factory.pendingSpawns().get(0), "boom");
        v.advance(Duration.ofMillis(delayMillis).minus(NANO));
        assertThat(v.factory.pendingSpawns()).as("retried before %d ms", delayMillis).isEmpty();
        v.advance(NANO);
        assertThat(v.factory.pendingSpawns()).as("retried after %d ms", delayMillis).hasSize(1);
      }
      assertThat(v.pool.stats().spawnFailures()).isEqualTo(5);
      // One success resets the backoff: the next failure waits the initial delay again.
      v.factory.completeSpawn(v.factory.pendingSpawns().get(0)).crash("gone again");
      assertThat(v.factory.pendingSpawns()).as("refill after a success is immediate").hasSize(1);
      v.factory.failSpawn(v.factory.pendingSpawns().get(0), "boom");
      v.advance(Duration.ofMillis(100));
      assertThat(v.factory.pendingSpawns()).hasSize(1);
    }
  }

  @Test
  void whileSpawnsFailOnlyOneIsInFlightAtATime() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(4).min(0))) {
      v.factory.startAtOnce(false);
      for (int i = 0; i < 3; i++) {
        v.pool.acquire("s" + i);
      }
      assertThat(v.factory.pendingSpawns()).as("one spawn per waiter").hasSize(3);
      v.factory.failSpawn(v.factory.pendingSpawns().get(0), "boom");
      v.factory.failSpawn(v.factory.pendingSpawns().get(0), "boom");
      v.factory.failSpawn(v.factory.pendingSpawns().get(0), "boom");
      v.pool.acquire("s3");
      v.pool.acquire("s4");
      v.advance(Duration.ofMinutes(1));
      assertThat(v.factory.pendingSpawns()).as("spawns in flight while failing").hasSize(1);
    }
  }

  @Test
  void aFailedSpawnFailsTheOldestWaiterWithTheSpawnsError() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1))) {
      v.factory.startAtOnce(false);
      CompletableFuture<SessionLease> first = v.pool.acquire("first");
      CompletableFuture<SessionLease> second = v.pool.acquire("second");
      v.factory.failSpawn(v.factory.pendingSpawns().get(0), "bad config");
      assertThat(first)
          .failsWithin(Duration.ZERO)
          .withThrowableThat()
          .havingCause()
          .isInstanceOf(WorkerStartException.class)
          .withMessageContaining("bad config");
      assertThat(second).isNotDone();
      v.advance(Duration.ofSeconds(1));
      v.factory.completeSpawn(v.factory.pendingSpawns().get(0));
      assertThat(second).isCompleted();
    }
  }
}
