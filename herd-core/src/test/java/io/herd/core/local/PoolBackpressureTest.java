package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.QueueFullException;
import io.herd.core.SessionLease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** At max, new sessions wait in a bounded FIFO queue and fail distinctly past it. */
class PoolBackpressureTest {

  @Test
  void waitersAreServedInArrivalOrderAsSessionsEnd() throws Exception {
    // reuse: each freed worker goes straight to the next waiter, so the order is all that varies.
    try (PoolFixture f =
        new PoolFixture(PoolFixture.config().reuse(true).max(2).maxQueue(100))) {
      SessionLease a = f.acquire("holder-a");
      SessionLease b = f.acquire("holder-b");
      List<String> served = new CopyOnWriteArrayList<>();
      List<CompletableFuture<SessionLease>> waiters = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        String key = "waiter-" + i;
        waiters.add(
            f.pool
                .acquire(key)
                .whenComplete((lease, err) -> served.add(lease != null ? key : "failed " + err)));
      }
      assertThat(f.pool.stats().queued()).isEqualTo(50);
      assertThat(waiters).noneMatch(CompletableFuture::isDone);

      a.close();
      b.close();
      // One session ends at a time, freeing one worker: exactly the next waiter in line gets it.
      List<String> toEnd = new ArrayList<>(List.of("holder-a", "holder-b"));
      for (int i = 0; i < 50; i++) {
        f.pool.end(toEnd.remove(0));
        SessionLease lease = waiters.get(i).get(30, TimeUnit.SECONDS);
        if (i + 1 < 50) {
          assertThat(waiters.get(i + 1)).as("waiter %d is still waiting", i + 1).isNotDone();
        }
        lease.close();
        toEnd.add(lease.key());
      }
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        expected.add("waiter-" + i);
      }
      assertThat(served).as("service order").containsExactlyElementsOf(expected);
      assertThat(f.pool.stats().spawns()).as("never more than max workers").isEqualTo(2);
      assertThat(f.pool.stats().queued()).isZero();
    }
  }

  @Test
  void aFullQueueRefusesNewSessionsAtOnce() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(1).maxQueue(3))) {
      SessionLease holder = f.acquire("holder");
      List<CompletableFuture<SessionLease>> queued = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        queued.add(f.pool.acquire("q" + i));
      }
      CompletableFuture<SessionLease> refused = f.pool.acquire("one-too-many");
      assertThatThrownBy(() -> refused.get(1, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(QueueFullException.class)
          .hasMessageContaining("one-too-many")
          .hasMessageContaining("pool.maxQueue=3");
      assertThat(f.pool.stats().queueRejections()).isEqualTo(1);
      assertThat(queued).noneMatch(CompletableFuture::isDone);
      // Joining a session that is already queued is not a new waiter: it is not refused.
      CompletableFuture<SessionLease> joined = f.pool.acquire("q0");
      holder.close();
      f.pool.end("holder");
      assertThat(joined.get(30, TimeUnit.SECONDS).key()).isEqualTo("q0");
      assertThat(queued.get(0).get(30, TimeUnit.SECONDS).worker())
          .isSameAs(joined.get().worker());
    }
  }

  @Test
  void anAcquireThatWaitsTooLongFailsAtItsDeadlineWithTheStateThatExplainsIt() throws Exception {
    Duration timeout = Duration.ofSeconds(30);
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1).acquireTimeout(timeout))) {
      SessionLease holder = v.lease("holder");
      CompletableFuture<SessionLease> waiting = v.pool.acquire("late");
      v.advance(timeout.minusNanos(1));
      assertThat(waiting).as("failed before its deadline").isNotDone();
      v.advance(Duration.ofNanos(1));
      assertThat(waiting)
          .failsWithin(Duration.ZERO)
          .withThrowableThat()
          .havingCause()
          .isInstanceOf(AcquireTimeoutException.class)
          .withMessageContaining("'late'")
          .withMessageContaining("1 sessions queued")
          .withMessageContaining("1 of max 1 workers busy");
      assertThat(v.pool.stats().acquireTimeouts()).isEqualTo(1);
      assertThat(v.pool.stats().queued()).as("withdrawn from the queue").isZero();

      // The blocking form reports its own, shorter deadline the same way, from the same clock.
      ExecutorService caller = Executors.newSingleThreadExecutor();
      try {
        Future<Throwable> blocking =
            caller.submit(
                () -> {
                  try {
                    v.pool.acquire("later", Duration.ofSeconds(10)).close();
                    return null;
                  } catch (RuntimeException e) {
                    return e;
                  }
                });
        await().atMost(Duration.ofSeconds(30)).until(() -> v.pool.stats().queued() == 1);
        v.advance(Duration.ofSeconds(10));
        assertThat(blocking.get(30, TimeUnit.SECONDS))
            .isInstanceOf(AcquireTimeoutException.class)
            .hasMessageContaining("'later'")
            .hasMessageContaining("PT10S");
      } finally {
        caller.shutdownNow();
      }
      assertThat(v.pool.stats().queued()).isZero();
      holder.close();
      v.pool.end("holder");
      // The withdrawn waiters left no trace: the next session is served at once.
      try (SessionLease next = v.lease("next")) {
        assertThat(next.newSession()).isTrue();
      }
      assertThat(v.events.count("sessionStarted")).as("sessions that got a worker").isEqualTo(2);
    }
  }

  @Test
  void cancellingAnAcquireWithdrawsItsSessionFromTheQueue() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1).reuse(true))) {
      SessionLease holder = v.lease("holder");
      CompletableFuture<SessionLease> waiting = v.pool.acquire("impatient");
      assertThat(v.pool.stats().queued()).isEqualTo(1);
      waiting.cancel(false);
      assertThat(v.pool.stats().queued()).isZero();
      holder.close();
      v.pool.end("holder");
      // The freed worker was not handed to the withdrawn session: it is idle, nothing started.
      assertThat(v.pool.stats().idle()).as("freed worker idle").isEqualTo(1);
      assertThat(v.pool.sessions()).isEmpty();
      assertThat(v.events.of("sessionStarted"))
          .extracting(RecordingListener.Event::subject)
          .containsExactly("holder");
      try (SessionLease again = v.lease("impatient")) {
        assertThat(again.newSession()).isTrue();
        assertThat(again.worker().id()).isEqualTo(holder.worker().id());
      }
    }
  }

  /**
   * The blocking acquire waits on the pool's own deadline; if the pool's timer cannot run (here a
   * virtual clock nobody advances, as when the call blocks the timer's own thread from a
   * callback), a wall-clock safety net of twice the timeout still ends the wait.
   */
  @Test
  void aBlockingAcquireEndsEvenWhenThePoolsTimerCannotRun() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().max(1))) {
      SessionLease holder = v.lease("holder");
      long start = System.nanoTime();
      assertThatThrownBy(() -> v.pool.acquire("stuck", Duration.ofMillis(100)))
          .isInstanceOf(AcquireTimeoutException.class)
          .hasMessageContaining("'stuck'");
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("ended by the safety net, not left hanging")
          .isLessThan(Duration.ofSeconds(60));
      assertThat(v.pool.stats().queued()).as("withdrawn").isZero();
      holder.close();
    }
  }
}
