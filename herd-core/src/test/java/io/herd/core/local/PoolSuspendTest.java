package io.herd.core.local;

import static io.herd.core.local.SuspendingPool.SUSPEND_AFTER;
import static io.herd.core.local.SuspendingPool.TTL;
import static io.herd.core.local.SuspendingPool.alive;
import static io.herd.core.local.SuspendingPool.count;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.InvalidConfigException;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.WorkerStartException;
import io.herd.core.testing.ScriptedWorkerFactory;
import io.herd.core.testing.SuspendableProcessWorkerFactory.StateFile;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code suspendAfter} with real worker processes that save a counter and exit, and restore it in a
 * new process: an idle session is suspended, its process ends, and the next acquire resumes it
 * with its state. Timers run in virtual time ({@link SuspendingPool}), so "not a nanosecond
 * before" is exact; the processes are real, so the test waits (bounded) for them.
 */
class PoolSuspendTest {

  private static final Duration NANO = Duration.ofNanos(1);

  @Test
  void anIdleSessionIsSuspendedAndResumedWithItsState() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      long firstPid;
      String firstWorker;
      try (SessionLease lease = p.lease("a")) {
        assertThat(count(lease)).isEqualTo(1);
        assertThat(count(lease)).isEqualTo(2);
        firstPid = lease.worker().pid().orElseThrow();
        firstWorker = lease.worker().id();
      }
      p.time.advance(SUSPEND_AFTER.minus(NANO));
      assertThat(p.events.count("sessionSuspended")).as("suspended before suspendAfter").isZero();
      assertThat(p.pool.stats().workers()).isEqualTo(1);

      p.advanceUntil(NANO, "session a suspended", () -> p.pool.stats().suspended() == 1);

      assertThat(alive(firstPid)).as("the suspended worker's process has gone").isFalse();
      assertThat(p.pool.stats().workers()).as("live processes while suspended").isZero();
      assertThat(p.pool.stats().sessions()).as("the session survives").isEqualTo(1);
      SessionInfo info = p.pool.sessions().get(0);
      assertThat(info.suspended()).isTrue();
      assertThat(info.workerId()).isEqualTo(firstWorker);
      assertThat(info.pid()).isEmpty();
      assertThat(info.suspendedFor()).contains(Duration.ZERO);
      p.time.advance(Duration.ofSeconds(7));
      assertThat(p.pool.sessions().get(0).suspendedFor()).contains(Duration.ofSeconds(7));

      try (SessionLease lease = p.lease("a")) {
        assertThat(lease.newSession()).as("resumed, not a new session").isFalse();
        assertThat(lease.worker().id()).isNotEqualTo(firstWorker);
        assertThat(lease.worker().pid().orElseThrow()).isNotEqualTo(firstPid);
        assertThat(count(lease)).as("the counter goes on").isEqualTo(3);
      }
      assertThat(p.pool.sessions().get(0).suspended()).isFalse();
      assertThat(p.pool.stats().suspended()).isZero();
      assertThat(p.pool.stats().suspensions()).isEqualTo(1);
      assertThat(p.pool.stats().resumes()).isEqualTo(1);
      assertThat(p.events.count("sessionStarted")).as("one session, started once").isEqualTo(1);
      assertThat(p.events.count("sessionSuspended")).isEqualTo(1);
      assertThat(p.events.count("sessionResumed")).isEqualTo(1);
      assertThat(p.events.count("sessionEnded")).isZero();
      StateFile state = p.factory.states().get(0);
      assertThat(state.resumes()).isEqualTo(1);
      assertThat(state.discards()).isZero();
      assertThat(state.onDisk()).as("consumed by the resume").isFalse();
    }
  }

  @Test
  void aSessionCanBeSuspendedAndResumedAgainAndAgain() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      for (int i = 1; i <= 3; i++) {
        try (SessionLease lease = p.lease("a")) {
          assertThat(count(lease)).isEqualTo(i);
        }
        int suspensions = i;
        p.advanceUntil(SUSPEND_AFTER, "suspension " + i,
            () -> p.pool.stats().suspensions() == suspensions && p.pool.stats().suspended() == 1);
      }
      assertThat(p.events.count("sessionResumed")).isEqualTo(2);
      assertThat(p.events.count("sessionStarted")).isEqualTo(1);
    }
  }

  @Test
  void aLeaseTakenBeforeTheTimerFiresCancelsTheSuspension() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      p.lease("a").close();
      p.time.advance(SUSPEND_AFTER.minus(NANO));
      SessionLease held = p.lease("a");
      p.time.advance(SUSPEND_AFTER.multipliedBy(3));
      assertThat(p.events.count("sessionSuspended")).as("suspended while leased").isZero();
      assertThat(count(held)).isEqualTo(1);
      held.close();
      p.time.advance(SUSPEND_AFTER.minus(NANO));
      assertThat(p.events.count("sessionSuspended")).as("idle clock restarted at release").isZero();
      p.advanceUntil(NANO, "suspended", () -> p.pool.stats().suspended() == 1);
    }
  }

  @Test
  void theTtlStillEndsASuspendedSessionAndDiscardsItsState() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      p.lease("a").close();
      p.advanceUntil(SUSPEND_AFTER, "suspended", () -> p.pool.stats().suspended() == 1);
      p.time.advance(TTL.minus(SUSPEND_AFTER).minus(NANO));
      assertThat(p.events.count("sessionEnded")).as("ended before its TTL").isZero();
      p.time.advance(NANO);
      assertThat(p.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
      assertThat(p.pool.sessions()).isEmpty();
      assertThat(p.pool.stats().suspended()).isZero();
      StateFile state = p.factory.states().get(0);
      assertThat(state.discards()).isEqualTo(1);
      assertThat(state.onDisk()).isFalse();
      try (SessionLease lease = p.lease("a")) {
        assertThat(lease.newSession()).isTrue();
        assertThat(count(lease)).isEqualTo(1);
      }
    }
  }

  @Test
  void aFailedResumeEndsTheSessionAndTheNextAcquireStartsAFreshOne() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      try (SessionLease lease = p.lease("a")) {
        count(lease);
      }
      p.advanceUntil(SUSPEND_AFTER, "suspended", () -> p.pool.stats().suspended() == 1);
      p.factory.failResumes(1);

      CompletableFuture<SessionLease> failed = p.pool.acquire("a");
      assertThatThrownBy(() -> failed.get(60, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(WorkerStartException.class)
          .hasMessageContaining("session 'a' could not be resumed")
          .hasMessageContaining("injected resume failure");
      SuspendingPool.awaitCondition("end reported", () -> p.events.count("sessionEnded") == 1);
      assertThat(p.events.count("sessionEnded", "RESUME_FAILED")).isEqualTo(1);
      assertThat(p.factory.states().get(0).discards()).as("state discarded").isEqualTo(1);
      assertThat(p.factory.states().get(0).onDisk()).isFalse();
      assertThat(p.pool.stats().workers()).isZero();

      try (SessionLease lease = p.lease("a")) {
        assertThat(lease.newSession()).isTrue();
        assertThat(count(lease)).as("a fresh session").isEqualTo(1);
      }
    }
  }

  @Test
  void aFailedSuspendStopsTheWorkerAndEndsTheSession() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      long pid;
      try (SessionLease lease = p.lease("a")) {
        pid = lease.worker().pid().orElseThrow();
      }
      p.factory.failSuspends(1);
      p.advanceUntil(SUSPEND_AFTER, "session ended", () -> p.events.count("sessionEnded") == 1);
      assertThat(p.events.count("sessionEnded", "SUSPEND_FAILED")).isEqualTo(1);
      SuspendingPool.awaitCondition(
          "worker stopped",
          () -> p.pool.stats().workers() == 0 && p.events.count("workerStopped") == 1);
      assertThat(alive(pid)).isFalse();
      assertThat(p.pool.sessions()).isEmpty();
    }
  }

  @Test
  void endingASuspendedSessionOrClosingThePoolDiscardsItsState() {
    List<StateFile> states;
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      p.lease("a").close();
      p.lease("b").close();
      p.advanceUntil(SUSPEND_AFTER, "both suspended", () -> p.pool.stats().suspended() == 2);
      assertThat(p.pool.end("a")).isTrue();
      assertThat(p.events.count("sessionEnded", "RELEASED")).isEqualTo(1);
      states = p.factory.states();
      assertThat(states).filteredOn(StateFile::discards, 1).hasSize(1);
      p.pool.close();
      assertThat(p.events.count("sessionEnded", "SHUTDOWN")).isEqualTo(1);
    }
    assertThat(states).allSatisfy(s -> assertThat(s.discards()).isEqualTo(1));
    assertThat(states).allSatisfy(s -> assertThat(s.resumes()).isZero());
  }

  @Test
  void concurrentAcquiresOfASuspendedSessionResumeItOnce() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      try (SessionLease lease = p.lease("a")) {
        count(lease);
      }
      p.advanceUntil(SUSPEND_AFTER, "suspended", () -> p.pool.stats().suspended() == 1);
      List<CompletableFuture<SessionLease>> acquires = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        acquires.add(p.pool.acquire("a"));
      }
      List<SessionLease> leases = acquires.stream().map(SuspendingPool::await).toList();
      assertThat(leases).extracting(l -> l.worker().id()).containsOnly(leases.get(0).worker().id());
      assertThat(count(leases.get(0))).isEqualTo(2);
      leases.forEach(SessionLease::close);
      assertThat(p.factory.states().get(0).resumes()).as("resumed once").isEqualTo(1);
      assertThat(p.events.count("sessionResumed")).isEqualTo(1);
      assertThat(p.events.count("workerStarted")).isEqualTo(2);
    }
  }

  @Test
  void anAcquireDuringTheSuspensionWaitsForItAndThenResumes() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config())) {
      String first;
      try (SessionLease lease = p.lease("a")) {
        count(lease);
        first = lease.worker().id();
      }
      p.time.advance(SUSPEND_AFTER); // the save has begun; its process answers later
      CompletableFuture<SessionLease> during = p.pool.acquire("a");
      try (SessionLease lease = SuspendingPool.await(during)) {
        assertThat(lease.worker().id()).as("never the worker being saved").isNotEqualTo(first);
        assertThat(count(lease)).isEqualTo(2);
      }
      assertThat(p.events.count("sessionSuspended")).isEqualTo(1);
      assertThat(p.events.count("sessionResumed")).isEqualTo(1);
    }
  }

  @Test
  void underPressureAnIdleSessionIsSuspendedRatherThanEnded() {
    try (SuspendingPool p =
        new SuspendingPool(SuspendingPool.config().max(1).evictIdleOnPressure(true))) {
      try (SessionLease lease = p.lease("a")) {
        assertThat(count(lease)).isEqualTo(1);
      }
      try (SessionLease lease = p.lease("b")) {
        assertThat(count(lease)).isEqualTo(1);
        assertThat(p.pool.stats().suspended()).as("a, suspended for b").isEqualTo(1);
      }
      try (SessionLease lease = p.lease("a")) {
        assertThat(lease.newSession()).isFalse();
        assertThat(count(lease)).as("a's state, back").isEqualTo(2);
      }
      assertThat(p.events.count("sessionEnded")).as("nothing evicted").isZero();
      assertThat(p.pool.stats().evictions()).isZero();
      assertThat(p.pool.sessions()).hasSize(2);
      assertThat(p.pool.stats().workers()).isLessThanOrEqualTo(1);
    }
  }

  @Test
  void aResumeWaitsForASlotAtMax() {
    try (SuspendingPool p = new SuspendingPool(SuspendingPool.config().max(1))) {
      p.lease("a").close();
      p.advanceUntil(SUSPEND_AFTER, "a suspended", () -> p.pool.stats().suspended() == 1);
      SessionLease b = p.lease("b");
      CompletableFuture<SessionLease> a = p.pool.acquire("a");
      p.time.advance(SUSPEND_AFTER.multipliedBy(2)); // b stays leased: no slot frees
      assertThat(a).as("resumed beyond max").isNotDone();
      assertThat(p.pool.stats().queued()).isEqualTo(1);
      b.close();
      assertThat(p.pool.end("b")).isTrue();
      try (SessionLease lease = SuspendingPool.await(a)) {
        assertThat(lease.newSession()).isFalse();
      }
    }
  }

  @Test
  void suspendAfterWithAFactoryThatCannotSuspendFailsAtConstruction() {
    assertThatThrownBy(
            () -> SessionPool.create(SuspendingPool.config().build(), new ScriptedWorkerFactory()))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("pool.suspendAfter is set, but the pool's workers cannot be")
        .hasMessageContaining("ScriptedWorkerFactory")
        .hasMessageContaining("SuspendableWorkerFactory");
  }
}
