package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.HerdException;
import io.herd.core.InMemorySessionDirectory;
import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerInfo;
import io.herd.core.testing.ScriptedWorkerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Races between the threads that use a pool, reproduced with real threads on in-process workers.
 * Each test is named after what broke; each failed on the pool before it was split into an
 * allocator that decides and a pool that acts.
 */
class PoolRaceTest {

  /**
   * Issue 8, item 4: an {@code end(key)} that ran between the first acquire's insert of the
   * pending session and its hand-off to the allocator left the ended session with a worker that
   * nothing could free (58 leaked in 300 rounds), and that stuck worker stopped eviction.
   */
  @Test
  void endRacingTheFirstAcquireOfItsKeyLeavesNoWorkerBusy() throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
    SessionPool pool =
        SessionPool.create(
            PoolConfig.builder()
                .name("race")
                .max(3)
                .warm(1)
                .evictIdleOnPressure(true)
                .acquireTimeout(Duration.ofSeconds(10))
                .build(),
            factory);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    int ended = 0;
    try {
      // Until the end has found the session in enough rounds: how often the ender wins the race
      // depends on the scheduler (on a busy 2-core machine, sometimes not once in 300 rounds).
      for (int round = 0; round < 5000 && (round < 300 || ended < 20); round++) {
        String key = "k" + round;
        CyclicBarrier gate = new CyclicBarrier(2);
        AtomicBoolean acquired = new AtomicBoolean();
        Future<SessionLease> acquirer =
            threads.submit(
                () -> {
                  gate.await();
                  try {
                    return pool.acquire(key, Duration.ofSeconds(10));
                  } catch (HerdException e) {
                    // The end won (SessionEndedException, see PoolLifecycleTest): a fine outcome.
                    return null;
                  } finally {
                    acquired.set(true);
                  }
                });
        // The ender ends the key the moment it exists: right after the acquirer inserted it.
        Future<Boolean> ender =
            threads.submit(
                () -> {
                  gate.await();
                  while (!acquired.get()) {
                    if (pool.end(key)) {
                      return true;
                    }
                    Thread.onSpinWait();
                  }
                  return false;
                });
        SessionLease lease = acquirer.get(20, TimeUnit.SECONDS);
        ended += ender.get(20, TimeUnit.SECONDS) ? 1 : 0;
        if (lease != null) {
          lease.close();
        }
        pool.end(key);
      }
      assertThat(ended).as("rounds in which the end found the session").isPositive();
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> {
                assertThat(pool.workers())
                    .as("workers busy after every session ended")
                    .noneMatch(w -> w.state() == WorkerInfo.State.BUSY);
                assertThat(pool.stats().busy()).isZero();
                assertThat(pool.sessions()).isEmpty();
              });
      // Every slot is free again: a new session gets a worker at once.
      try (SessionLease after = pool.acquire("after", Duration.ofSeconds(10))) {
        assertThat(after.newSession()).isTrue();
      }
    } finally {
      threads.shutdownNow();
      pool.close();
    }
  }

  /**
   * Issue 8, item 5: a worker that exited after it was handed to a new session but before the
   * session was activated produced a lease on the dead worker, the events {@code workerCrashed,
   * sessionEnded(CRASHED), sessionStarted} in that order, and a directory binding to the dead
   * worker that was never removed.
   */
  @Test
  void aWorkerThatExitsBetweenHandOffAndActivationGetsNoLeaseAndLeavesNoBinding()
      throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
    AtomicBoolean crashOnBind = new AtomicBoolean(true);
    InMemorySessionDirectory bindings = new InMemorySessionDirectory();
    SessionDirectory directory =
        new SessionDirectory() {
          @Override
          public Optional<SessionBinding> bind(SessionBinding binding) {
            if (crashOnBind.getAndSet(false)) {
              // The pool is activating the session: its worker dies right now, on another thread.
              Thread killer =
                  new Thread(() -> factory.worker(binding.workerId()).crash("killed"), "killer");
              killer.start();
              try {
                killer.join(10_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return bindings.bind(binding);
          }

          @Override
          public Optional<SessionBinding> lookup(String key) {
            return bindings.lookup(key);
          }

          @Override
          public boolean unbind(SessionBinding binding) {
            return bindings.unbind(binding);
          }

          @Override
          public int size() {
            return bindings.size();
          }
        };
    RecordingListener events = new RecordingListener();
    try (SessionPool pool =
        SessionPool.create(
            PoolConfig.builder().name("race").max(2).warm(0).build(), factory, directory)) {
      pool.addListener(events);
      CompletableFuture<SessionLease> first = pool.acquire("victim");

      assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS))
          .as("no lease on a worker known to be dead")
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(SessionEndedException.class)
          .hasMessageContaining("victim");
      List<String> sessionEvents = new ArrayList<>();
      for (RecordingListener.Event e : events.events) {
        if (e.subject().equals("victim")) {
          sessionEvents.add(e.kind() + (e.kind().equals("sessionEnded") ? ":" + e.detail() : ""));
        }
      }
      assertThat(sessionEvents)
          .as("events of the session, in order")
          .containsExactly("sessionStarted", "sessionEnded:CRASHED");
      assertThat(bindings.lookup("victim")).as("binding to the dead worker").isEmpty();

      // The key is not stuck: the next acquire starts a new session on a live worker.
      try (SessionLease again = pool.acquire("victim", Duration.ofSeconds(10))) {
        assertThat(again.newSession()).isTrue();
        assertThat(factory.worker(again.worker().id()).hasExited()).isFalse();
        assertThat(bindings.lookup("victim"))
            .hasValueSatisfying(b -> assertThat(b.workerId()).isEqualTo(again.worker().id()));
      }
    }
  }

  /**
   * Issue 8, item 7: the blocking acquire gave up at its deadline, found that the future had
   * failed meanwhile, and rethrew the failure as a raw {@link CompletionException} from {@code
   * join()}. Racing the pool's own deadline against the caller's, many times, finds that window.
   */
  @Test
  void aBlockingAcquireThatTimesOutThrowsAcquireTimeoutExceptionNeverCompletionException()
      throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
    Duration timeout = Duration.ofMillis(2);
    try (SessionPool pool =
        SessionPool.create(
            PoolConfig.builder().name("race").max(1).warm(0).acquireTimeout(timeout).build(),
            factory)) {
      SessionLease holder = pool.acquire("holder", Duration.ofSeconds(10));
      List<String> wrong = new ArrayList<>();
      for (int i = 0; i < 1500; i++) {
        try {
          pool.acquire("late-" + i, timeout).close();
          wrong.add("a lease although the only worker is held");
        } catch (AcquireTimeoutException expected) {
          // the only right outcome
        } catch (HerdException e) {
          wrong.add(e.toString());
        } catch (RuntimeException e) {
          wrong.add(e.toString());
        }
      }
      assertThat(wrong).as("outcomes other than AcquireTimeoutException").isEmpty();
      holder.close();
    }
  }

  /**
   * With {@code evictIdleOnPressure}, a lease that closes drops its session's holder count without
   * the lock and then asks for an eviction only if it sees a session waiting; a new session that
   * queues searches for an idle victim under the lock and published the queue only at the end of
   * its decision. When the close fell inside that decision, neither saw the other: the new session
   * waited beside an idle session it could have evicted, until the next maintenance tick (5 s by
   * default) or the idle session's TTL. The search is made wide (many busy sessions after the
   * victim) and the close is spread over it, so that the window is hit in a few thousand rounds.
   */
  @Test
  void aSessionQueuedAsTheLastLeaseOfAnIdleSessionClosesEvictsItAtOnce() throws Exception {
    int max = 256;
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
    LocalSessionPool pool =
        (LocalSessionPool)
            SessionPool.create(
                PoolConfig.builder()
                    .name("race")
                    .max(max)
                    .warm(0)
                    .reuse(true)
                    .evictIdleOnPressure(true)
                    // Nothing but the eviction may free a worker within a round.
                    .ttl(Duration.ofHours(1))
                    .healthInterval(Duration.ofHours(1))
                    .acquireTimeout(Duration.ofHours(1))
                    .build(),
                factory);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    List<String> stuck = new ArrayList<>();
    int rounds = 0;
    try {
      // The victim's worker is the first the search looks at; every other worker is busy.
      SessionLease first = pool.acquire("first", Duration.ofSeconds(10));
      List<SessionLease> busy = new ArrayList<>();
      for (int i = 1; i < max; i++) {
        busy.add(pool.acquire("busy-" + i, Duration.ofSeconds(10)));
      }
      first.close();
      pool.end("first"); // its worker, checked and idle, serves every round's idle session
      assertThat(pool.workers().get(0).state()).isEqualTo(WorkerInfo.State.IDLE);
      for (; rounds < 40_000 && stuck.isEmpty(); rounds++) {
        String idleKey = "idle-" + rounds;
        String newKey = "new-" + rounds;
        SessionLease last = pool.acquire(idleKey, Duration.ofSeconds(10));
        CyclicBarrier gate = new CyclicBarrier(2);
        long spreadNanos = ThreadLocalRandom.current().nextLong(12_000);
        Future<?> closer =
            threads.submit(
                () -> {
                  gate.await();
                  long until = System.nanoTime() + spreadNanos;
                  while (System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                  }
                  last.close();
                  return null;
                });
        Future<CompletableFuture<SessionLease>> waiter =
            threads.submit(
                () -> {
                  gate.await();
                  return pool.acquire(newKey);
                });
        closer.get(20, TimeUnit.SECONDS);
        CompletableFuture<SessionLease> served = waiter.get(20, TimeUnit.SECONDS);
        // Everything is in-process and synchronous: once both calls returned, the new session
        // has its worker, or it waits beside an idle session that nothing will evict.
        if (!served.isDone()) {
          stuck.add("round " + rounds + ": " + pool.stats());
          pool.end(idleKey); // let it go on
        }
        served.get(20, TimeUnit.SECONDS).close();
        pool.end(newKey);
        pool.end(idleKey);
      }
      busy.forEach(SessionLease::close);
    } finally {
      threads.shutdownNow();
      pool.close();
    }
    assertThat(stuck)
        .as("sessions left waiting beside an idle session, in %s rounds", rounds)
        .isEmpty();
  }

  /**
   * {@code PoolListener} promises {@code workerStarted} before any other event about a worker. A
   * spawned worker joined the idle set in the decision that saw its spawn complete, and was
   * announced only after that decision, with no lock held: meanwhile another thread could hand it
   * to a new session, whose {@code sessionStarted} then reached the listeners first (as could a
   * tick's failed health check, or close()'s stop, with {@code workerCrashed} or {@code
   * workerStopped}). Seen in a multi-threaded stress run; here a listener that is slow to hear
   * {@code workerStarted} holds the announcement open.
   */
  @Test
  void noOtherThreadHandsASpawnedWorkerToASessionBeforeItIsAnnounced() throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory().startAtOnce(false);
    SlowToHearWorkerStarted slow = new SlowToHearWorkerStarted();
    RecordingListener events = new RecordingListener();
    try (SessionPool pool = announcedSlowly(factory, slow, events)) {
      Thread spawner = slow.completeSpawnAndHoldItsAnnouncement(factory, "w-1");

      // w-1 is ready, and its workerStarted is being told: a new session arrives now.
      CompletableFuture<SessionLease> acquired = pool.acquire("k");
      slow.release();
      spawner.join(10_000);
      try (SessionLease lease = acquired.get(10, TimeUnit.SECONDS)) {
        assertThat(lease.worker().id()).isEqualTo("w-1");
      }
      assertThat(order(events))
          .as("events, in the order the listener heard them")
          .startsWith("workerStarted w-1", "sessionStarted k");
    }
  }

  /**
   * The other side of the fix above: a spawned worker that exits while it is announced, before it
   * joined the pool, is reported crashed (after its start) and serves no one; the session that was
   * waiting for it gets its replacement.
   */
  @Test
  void aWorkerThatExitsWhileItIsAnnouncedIsReportedCrashedAndServesNoSession() throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory().startAtOnce(false);
    SlowToHearWorkerStarted slow = new SlowToHearWorkerStarted();
    RecordingListener events = new RecordingListener();
    try (SessionPool pool = announcedSlowly(factory, slow, events)) {
      Thread spawner = slow.completeSpawnAndHoldItsAnnouncement(factory, "w-1");
      CompletableFuture<SessionLease> acquired = pool.acquire("k");
      factory.worker("w-1").crash("exited while announced");
      slow.release();
      spawner.join(10_000);

      await().atMost(Duration.ofSeconds(10)).until(() -> factory.pendingSpawns().contains("w-2"));
      factory.completeSpawn("w-2");
      try (SessionLease lease = acquired.get(10, TimeUnit.SECONDS)) {
        assertThat(lease.worker().id()).as("the worker of the waiting session").isEqualTo("w-2");
      }
      assertThat(order(events))
          .as("events, in the order the listener heard them")
          .startsWith(
              "workerStarted w-1", "workerCrashed w-1", "workerStarted w-2", "sessionStarted k");
    }
    assertThat(factory.processes()).as("processes left after close").isZero();
  }

  /**
   * close() while a spawned worker is announced: the worker is stopped once it has been announced
   * (never before: no {@code workerStopped} ahead of its {@code workerStarted}), and close()
   * returns only after it has exited.
   */
  @Test
  void closeWhileASpawnedWorkerIsAnnouncedStopsItAfterItsStartAndWaitsForItsExit()
      throws Exception {
    ScriptedWorkerFactory factory = new ScriptedWorkerFactory().startAtOnce(false);
    SlowToHearWorkerStarted slow = new SlowToHearWorkerStarted();
    RecordingListener events = new RecordingListener();
    SessionPool pool = announcedSlowly(factory, slow, events);
    Thread spawner = slow.completeSpawnAndHoldItsAnnouncement(factory, "w-1");
    Thread closer = new Thread(pool::close, "closer");
    closer.start();
    try {
      await("close() waiting, w-1 not stopped while it is announced")
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(5))
          .until(() -> closer.isAlive() && factory.processes() == 1);
    } finally {
      slow.release();
      spawner.join(10_000);
      closer.join(10_000);
    }
    assertThat(closer.isAlive()).as("close() returned").isFalse();
    assertThat(factory.processes()).as("processes when close() returned").isZero();
    assertThat(order(events))
        .as("events, in the order the listener heard them")
        .containsExactly("workerStarted w-1", "workerStopped w-1");
  }

  /** A pool of one warm worker whose listeners are {@code slow}, then {@code events}. */
  private static SessionPool announcedSlowly(
      ScriptedWorkerFactory factory, SlowToHearWorkerStarted slow, RecordingListener events) {
    SessionPool pool =
        SessionPool.builder(PoolConfig.builder().name("race").max(1).warm(1).build(), factory)
            .listener(slow)
            .listener(events)
            .build();
    assertThat(factory.pendingSpawns()).containsExactly("w-1");
    return pool;
  }

  private static List<String> order(RecordingListener events) {
    List<String> order = new ArrayList<>();
    for (RecordingListener.Event e : events.events) {
      order.add(e.kind() + " " + e.subject());
    }
    return order;
  }

  /** Holds the first {@code workerStarted} until {@link #release()}, on the spawn's thread. */
  private static final class SlowToHearWorkerStarted implements PoolListener {
    private final CountDownLatch announcing = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    /** Completes the spawn on a new thread; returns once that thread is in workerStarted. */
    Thread completeSpawnAndHoldItsAnnouncement(ScriptedWorkerFactory factory, String id)
        throws InterruptedException {
      Thread spawner = new Thread(() -> factory.completeSpawn(id), "spawner");
      spawner.start();
      assertThat(announcing.await(10, TimeUnit.SECONDS)).as("workerStarted told").isTrue();
      return spawner;
    }

    void release() {
      released.countDown();
    }

    @Override
    public void workerStarted(Worker worker) {
      if (announcing.getCount() == 0) {
        return;
      }
      announcing.countDown();
      try {
        released.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
