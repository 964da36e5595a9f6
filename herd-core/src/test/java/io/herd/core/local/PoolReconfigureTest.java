package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.SessionLease;
import io.herd.core.testing.ScriptedWorker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * {@link LocalSessionPool#reconfigure}: what each setting does to a running pool, in virtual time
 * and with scripted workers, so that "at once" and "not before its session ends" are exact.
 */
class PoolReconfigureTest {

  @Test
  void raisingMaxServesQueuedSessionsAtOnce() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1))) {
      SessionLease a = v.lease("a");
      CompletableFuture<SessionLease> b = v.pool.acquire("b");
      assertThat(b).as("queued behind a at max 1").isNotDone();

      v.pool.reconfigure(v.pool.config().toBuilder().max(2).build());

      assertThat(b).as("served once max is 2").isCompleted();
      assertThat(v.factory.processes()).isEqualTo(2);
      b.join().close();
      a.close();
    }
  }

  @Test
  void loweringMaxNeverEndsABusySessionAndDrainsAsSessionsEnd() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(3))) {
      SessionLease a = v.lease("a");
      SessionLease b = v.lease("b");
      SessionLease c = v.lease("c");

      v.pool.reconfigure(v.pool.config().toBuilder().max(1).build());

      assertThat(v.pool.sessions()).as("every session keeps its worker").hasSize(3);
      assertThat(v.factory.aliveWorkers()).noneMatch(ScriptedWorker::stopRequested);
      CompletableFuture<SessionLease> d = v.pool.acquire("d");
      assertThat(d).as("no spawn while above the new max").isNotDone();

      a.close();
      v.pool.end("a");
      assertThat(v.factory.processes()).isEqualTo(2);
      assertThat(d).as("2 workers left, max 1: still no spawn").isNotDone();
      b.close();
      v.pool.end("b");
      assertThat(d).as("1 worker left, max 1: still no spawn").isNotDone();
      c.close();
      v.pool.end("c");
      assertThat(d).as("served once below the new max").isCompleted();
      assertThat(v.factory.processes()).isEqualTo(1);
      assertThat(v.factory.spawnRequests()).isEqualTo(4);
      d.join().close();
    }
  }

  @Test
  void loweringMaxStopsIdleWorkersBeyondItAtOnce() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().min(3).max(3))) {
      assertThat(v.factory.processes()).isEqualTo(3);

      v.pool.reconfigure(v.pool.config().toBuilder().min(0).max(1).build());

      assertThat(v.factory.processes()).isEqualTo(1);
      assertThat(v.pool.stats().workers()).isEqualTo(1);
    }
  }

  @Test
  void aWorkerFreedAboveALoweredMaxIsNotReused() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(2).reuse(true))) {
      SessionLease a = v.lease("a");
      SessionLease b = v.lease("b");
      v.pool.reconfigure(v.pool.config().toBuilder().max(1).build());
      a.close();
      v.pool.end("a");
      assertThat(v.factory.worker(a.worker().id()).stopRequested())
          .as("freed above the new max: stopped, not checked for reuse")
          .isTrue();
      b.close();
      v.pool.end("b");
      assertThat(v.factory.worker(b.worker().id()).stopRequested())
          .as("within max 1: checked and kept for reuse")
          .isFalse();
    }
  }

  @Test
  void aShorterTtlExpiresSessionsThatGoIdleAfterIt() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(Duration.ofMinutes(5)))) {
      v.pool.reconfigure(v.pool.config().toBuilder().ttl(Duration.ofMinutes(1)).build());
      v.lease("a").close();
      v.advance(Duration.ofSeconds(59));
      assertThat(v.pool.sessions()).hasSize(1);
      v.advance(Duration.ofSeconds(1));
      assertThat(v.pool.sessions()).as("expired after the new TTL").isEmpty();
      assertThat(v.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
    }
  }

  @Test
  void aShorterHealthIntervalTakesEffectWithoutWaitingForTheOldOne() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().healthInterval(Duration.ofHours(1)))) {
      SessionLease a = v.lease("a");
      ScriptedWorker w = v.factory.worker(a.worker().id());
      v.pool.reconfigure(
          v.pool.config().toBuilder().healthInterval(Duration.ofSeconds(1)).build());
      v.advance(Duration.ofSeconds(1));
      assertThat(w.healthChecks()).as("probed after the new interval").isEqualTo(1);
      v.advance(Duration.ofSeconds(3));
      assertThat(w.healthChecks()).as("one tick chain, every second").isEqualTo(4);
      a.close();
    }
  }

  @Test
  void aNewAcquireTimeoutBoundsAcquiresFromThenOn() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1))) {
      SessionLease a = v.lease("a");
      v.pool.reconfigure(
          v.pool.config().toBuilder().acquireTimeout(Duration.ofSeconds(5)).build());
      CompletableFuture<SessionLease> b = v.pool.acquire("b");
      v.advance(Duration.ofMillis(4999));
      assertThat(b).isNotDone();
      v.advance(Duration.ofMillis(1));
      assertThatThrownBy(b::join)
          .isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(AcquireTimeoutException.class)
          .hasMessageContaining("of max 1 workers busy");
      a.close();
    }
  }

  @Test
  void thePoolsNameCannotChange() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config())) {
      assertThatThrownBy(
              () -> v.pool.reconfigure(v.pool.config().toBuilder().name("other").build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("pool.name cannot change");
      assertThat(v.pool.config().name()).isEqualTo("virtual");
    }
  }
}
