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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** At max, new sessions wait in a bounded FIFO queue and fail distinctly past it. */
class PoolBackpressureTest {

  @Test
  void waitersAreServedInArrivalOrderAsSessionsEnd() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(2).maxQueue(100))) {
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
  void anAcquireThatWaitsTooLongFailsWithTheStateThatExplainsIt() throws Exception {
    try (PoolFixture f =
        new PoolFixture(PoolFixture.config().max(1).acquireTimeout(Duration.ofMillis(300)))) {
      SessionLease holder = f.acquire("holder");
      CompletableFuture<SessionLease> waiting = f.pool.acquire("late");
      assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(AcquireTimeoutException.class)
          .hasMessageContaining("'late'")
          .hasMessageContaining("1 sessions queued")
          .hasMessageContaining("of max 1 workers busy");
      assertThat(f.pool.stats().acquireTimeouts()).isEqualTo(1);
      await().atMost(Duration.ofSeconds(5)).until(() -> f.pool.stats().queued() == 0);
      // The blocking form reports its own, shorter deadline the same way.
      assertThatThrownBy(() -> f.pool.acquire("later", Duration.ofMillis(100)))
          .isInstanceOf(AcquireTimeoutException.class)
          .hasMessageContaining("'later'");
      await().atMost(Duration.ofSeconds(5)).until(() -> f.pool.stats().queued() == 0);
      holder.close();
      f.pool.end("holder");
      // The withdrawn waiters left no trace: the next session gets the freed worker.
      try (SessionLease next = f.acquire("next")) {
        assertThat(next.worker().id()).isEqualTo(holder.worker().id());
      }
    }
  }

  @Test
  void cancellingAnAcquireWithdrawsIt() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().max(1))) {
      SessionLease holder = f.acquire("holder");
      CompletableFuture<SessionLease> waiting = f.pool.acquire("impatient");
      assertThat(f.pool.stats().queued()).isEqualTo(1);
      waiting.cancel(false);
      await().atMost(Duration.ofSeconds(5)).until(() -> f.pool.stats().queued() == 0);
      holder.close();
      f.pool.end("holder");
      assertThat(f.pool.sessions()).isEmpty();
    }
  }
}
