package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.core.testing.ScriptedWorker;
import io.herd.core.testing.ScriptedWorkerFactory;
import io.herd.core.testing.VirtualTime;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The windows of a suspension, one at a time and deterministically: the test holds each save and
 * each resume open ({@link ManualFactory}) and makes something happen inside it — an end, a pool
 * close, an acquirer giving up, the process dying. Virtual time, scripted workers, one thread.
 */
class PoolSuspendRaceTest {

  private static final Duration SUSPEND_AFTER = Duration.ofMinutes(1);

  private final VirtualTime time = new VirtualTime();
  private final ManualFactory factory = new ManualFactory();
  private final RecordingListener events = new RecordingListener();

  private LocalSessionPool pool(PoolConfig.Builder config) {
    return (LocalSessionPool)
        SessionPool.builder(config.build(), factory).ticker(time).scheduler(time).listener(events)
            .build();
  }

  private static PoolConfig.Builder config() {
    return VirtualPool.config().suspendAfter(SUSPEND_AFTER).ttl(Duration.ofMinutes(10));
  }

  private static SessionLease now(CompletableFuture<SessionLease> f) {
    assertThat(f).as("served at once").isDone();
    return f.join();
  }

  /** Leases and releases {@code key}, then lets it reach suspendAfter: its save is pending. */
  private String idleUntilSaving(LocalSessionPool pool, String key) {
    String id;
    try (SessionLease lease = now(pool.acquire(key))) {
      id = lease.worker().id();
    }
    time.advance(SUSPEND_AFTER);
    assertThat(factory.saves).as("save of %s begun", id).containsKey(id);
    return id;
  }

  @Test
  void anEndWhileTheStateIsBeingSavedDiscardsItOnceSaved() {
    LocalSessionPool pool = pool(config());
    String id = idleUntilSaving(pool, "a");
    assertThat(pool.end("a")).isTrue();
    assertThat(events.count("sessionEnded")).as("reported when the save completes").isZero();

    CountingState state = factory.finishSave(id);

    assertThat(events.count("sessionEnded", "RELEASED")).isEqualTo(1);
    assertThat(events.count("sessionSuspended")).isZero();
    assertThat(state.discards.get()).isEqualTo(1);
    assertThat(pool.stats().suspended()).isZero();
    assertThat(pool.stats().workers()).isZero();
    assertThat(pool.sessions()).isEmpty();
    pool.close();
  }

  @Test
  void closingThePoolDuringAResumeStopsTheResumedWorkerUnannounced() {
    LocalSessionPool pool = pool(config());
    CountingState state = factory.finishSave(idleUntilSaving(pool, "a"));
    CompletableFuture<SessionLease> waiting = pool.acquire("a");
    assertThat(factory.resumes).hasSize(1);
    CompletableFuture<Void> closed = pool.shutdown();

    ScriptedWorker resumed = factory.finishResume();

    assertThat(resumed.stopRequested()).as("the resumed worker is stopped").isTrue();
    assertThat(waiting).isCompletedExceptionally();
    assertThat(events.count("sessionResumed")).isZero();
    assertThat(events.count("sessionEnded", "SHUTDOWN")).isEqualTo(1);
    assertThat(state.resumes.get()).isEqualTo(1);
    resumed.finishStop();
    assertThat(closed).as("terminated once the resumed worker exited").isDone();
    assertThat(factory.scripted.processes()).isZero();
  }

  @Test
  void anAcquirerThatGivesUpInTheResumeQueueLeavesTheSessionSuspended() {
    LocalSessionPool pool = pool(config().max(1).acquireTimeout(Duration.ofSeconds(30)));
    factory.finishSave(idleUntilSaving(pool, "a"));
    SessionLease b = now(pool.acquire("b"));
    CompletableFuture<SessionLease> a = pool.acquire("a");
    assertThat(pool.stats().queued()).isEqualTo(1);

    time.advance(Duration.ofSeconds(30));

    assertThat(a).as("timed out in the queue").isCompletedExceptionally();
    assertThat(pool.stats().queued()).isZero();
    assertThat(pool.stats().suspended()).isEqualTo(1);
    b.close();
    pool.end("b");
    factory.scripted.aliveWorkers().forEach(w -> {
      if (w.stopRequested()) {
        w.finishStop();
      }
    });
    assertThat(factory.resumes).as("no resume for nobody").isEmpty();
    CompletableFuture<SessionLease> again = pool.acquire("a");
    factory.finishResume();
    assertThat(again).isDone();
    assertThat(now(again).newSession()).isFalse();
    assertThat(events.count("sessionResumed")).isEqualTo(1);
    pool.close();
  }

  @Test
  void aProcessThatDiesWhileSavingEndsTheSessionWithoutAStop() {
    LocalSessionPool pool = pool(config());
    String id = idleUntilSaving(pool, "a");
    factory.scripted.worker(id).crash("killed while saving");
    assertThat(events.count("workerCrashed")).as("an exit while saving is expected").isZero();

    factory.failSave(id);

    assertThat(events.count("sessionEnded", "SUSPEND_FAILED")).isEqualTo(1);
    assertThat(factory.scripted.worker(id).stopRequested()).as("already gone").isFalse();
    assertThat(events.count("workerStopped")).isEqualTo(1);
    assertThat(pool.stats().workers()).isZero();
    pool.close();
  }

  @Test
  void aSessionEndedByItsFailedSaveFailsTheAcquirersWaitingForIt() {
    LocalSessionPool pool = pool(config());
    String id = idleUntilSaving(pool, "a");
    CompletableFuture<SessionLease> waiting = pool.acquire("a");

    factory.failSave(id);

    assertThat(waiting).isCompletedExceptionally();
    assertThat(waiting.handle((l, e) -> e).join())
        .isInstanceOf(SessionEndedException.class)
        .hasMessageContaining("could not be suspended");
    factory.scripted.worker(id).finishStop();
    assertThat(now(pool.acquire("a")).newSession()).as("the next acquire starts anew").isTrue();
    pool.close();
  }

  @Test
  void theResumeOfASessionEndedMeanwhileIsStoppedAndItsEndReportedOnce() {
    LocalSessionPool pool = pool(config());
    factory.finishSave(idleUntilSaving(pool, "a"));
    CompletableFuture<SessionLease> waiting = pool.acquire("a");
    assertThat(pool.end("a")).isTrue();

    ScriptedWorker resumed = factory.finishResume();

    assertThat(resumed.stopRequested()).isTrue();
    assertThat(waiting).isCompletedExceptionally();
    assertThat(events.count("sessionEnded")).isEqualTo(1);
    assertThat(events.count("sessionResumed")).isZero();
    resumed.finishStop();
    pool.close();
  }

  @Test
  void aFailedResumeFailsEveryWaitingAcquirerWithTheStartError() {
    LocalSessionPool pool = pool(config());
    CountingState state = factory.finishSave(idleUntilSaving(pool, "a"));
    CompletableFuture<SessionLease> first = pool.acquire("a");
    CompletableFuture<SessionLease> second = pool.acquire("a");
    assertThat(factory.resumes).as("one resume for both").hasSize(1);

    factory.failResume("snapshot unreadable");

    for (CompletableFuture<SessionLease> f : java.util.List.of(first, second)) {
      assertThat(f.handle((l, e) -> e).join())
          .isInstanceOf(WorkerStartException.class)
          .hasMessageContaining("could not be resumed")
          .hasMessageContaining("snapshot unreadable");
    }
    assertThat(events.count("sessionEnded", "RESUME_FAILED")).isEqualTo(1);
    assertThat(state.discards.get()).isEqualTo(1);
    assertThat(pool.stats().workers()).isZero();
    pool.close();
  }

  @Test
  void anEndWhileTheSuspensionIsBeingAnnouncedIsReportedAfterIt() throws Exception {
    CountDownLatch inSuspended = new CountDownLatch(1);
    CountDownLatch letGo = new CountDownLatch(1);
    LocalSessionPool pool = poolHeardSuspendingUntil(inSuspended, letGo);
    String id = idleUntilSaving(pool, "a");
    CompletableFuture<CountingState> saved =
        CompletableFuture.supplyAsync(() -> factory.finishSave(id));
    assertThat(inSuspended.await(30, TimeUnit.SECONDS)).isTrue();

    // sessionSuspended is being heard (on the saving thread): the session's end must wait for it
    assertThat(pool.end("a")).isTrue();
    assertThat(events.count("sessionEnded")).as("reported only after sessionSuspended").isZero();

    letGo.countDown();
    CountingState state = saved.get(30, TimeUnit.SECONDS);
    assertThat(events.events.stream().map(e -> e.kind()).filter(k -> k.startsWith("session")))
        .containsExactly("sessionStarted", "sessionSuspended", "sessionEnded");
    assertThat(state.discards.get()).isEqualTo(1);
    assertThat(state.resumes.get()).isZero();
    assertThat(pool.stats().suspended()).isZero();
    assertThat(pool.sessions()).isEmpty();
    pool.close();
  }

  @Test
  void aCloseWhileTheSuspensionIsBeingAnnouncedTerminatesOnlyAfterTheSessionsEnd()
      throws Exception {
    CountDownLatch inSuspended = new CountDownLatch(1);
    CountDownLatch letGo = new CountDownLatch(1);
    LocalSessionPool pool = poolHeardSuspendingUntil(inSuspended, letGo);
    String id = idleUntilSaving(pool, "a");
    CompletableFuture<CountingState> saved =
        CompletableFuture.supplyAsync(() -> factory.finishSave(id));
    assertThat(inSuspended.await(30, TimeUnit.SECONDS)).isTrue();

    CompletableFuture<Void> closed = pool.shutdown();
    assertThat(closed).as("the session's end is not reported yet").isNotDone();

    letGo.countDown();
    CountingState state = saved.get(30, TimeUnit.SECONDS);
    assertThat(closed).isDone();
    assertThat(events.count("sessionEnded", "SHUTDOWN")).isEqualTo(1);
    assertThat(state.discards.get()).isEqualTo(1);
    assertThat(pool.stats().suspended()).isZero();
  }

  @Test
  void maxLifetimeEndsASuspendedSessionAndFailsItsQueuedAcquirer() {
    LocalSessionPool pool =
        pool(config().max(1).maxLifetime(Duration.ofMinutes(5)).acquireTimeout(Duration.ofHours(1)));
    CountingState state = factory.finishSave(idleUntilSaving(pool, "a"));
    SessionLease b = now(pool.acquire("b"));
    CompletableFuture<SessionLease> a = pool.acquire("a");
    assertThat(pool.stats().queued()).as("waits for a slot to resume in").isEqualTo(1);

    time.advance(Duration.ofMinutes(4));

    assertThat(a.handle((l, e) -> e).join()).isInstanceOf(SessionEndedException.class);
    assertThat(events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
    assertThat(state.discards.get()).isEqualTo(1);
    assertThat(state.resumes.get()).isZero();
    assertThat(pool.stats().queued()).isZero();
    assertThat(pool.stats().suspended()).isZero();
    assertThat(factory.resumes).isEmpty();
    b.close();
    pool.close();
  }

  @Test
  void aSuspendedSessionResumesAfterSuspendAfterIsRemovedAndMaxLowered() {
    LocalSessionPool pool = pool(config().max(2));
    CountingState state = factory.finishSave(idleUntilSaving(pool, "a"));
    SessionLease b = now(pool.acquire("b"));
    SessionLease c = now(pool.acquire("c"));
    pool.reconfigure(pool.config().toBuilder().suspendAfter(null).max(1).build());
    CompletableFuture<SessionLease> a = pool.acquire("a");
    assertThat(factory.resumes).as("no slot: b and c hold two, max is 1").isEmpty();

    b.close();
    pool.end("b");
    finishStops();
    assertThat(factory.resumes).as("c still holds the only slot").isEmpty();
    c.close();
    pool.end("c");
    finishStops();

    assertThat(factory.resumes).hasSize(1);
    factory.finishResume();
    assertThat(a).isDone();
    assertThat(now(a).newSession()).isFalse();
    assertThat(state.resumes.get()).isEqualTo(1);
    assertThat(state.discards.get()).isZero();
    assertThat(factory.scripted.processes()).isEqualTo(1);
    assertThat(pool.stats().suspended()).isZero();
    pool.close();
  }

  private void finishStops() {
    factory.scripted.aliveWorkers().forEach(w -> {
      if (w.stopRequested()) {
        w.finishStop();
      }
    });
  }

  /**
   * Scripted workers that start at once, and saves and resumes that wait for the test: {@link
   * #finishSave} makes the worker exit and completes its save; {@link #finishResume} starts the
   * oldest pending resume.
   */
  private static final class ManualFactory implements SuspendableWorkerFactory {
    final ScriptedWorkerFactory scripted = new ScriptedWorkerFactory().startAtOnce(true);
    final Map<String, CompletableFuture<SuspendedWorker>> saves = new LinkedHashMap<>();
    final Map<String, CompletableFuture<Worker>> resumes = new LinkedHashMap<>();

    @Override
    public CompletableFuture<Worker> spawn(String workerId) {
      return scripted.spawn(workerId);
    }

    @Override
    public CompletableFuture<SuspendedWorker> suspend(Worker worker) {
      CompletableFuture<SuspendedWorker> f = new CompletableFuture<>();
      saves.put(worker.id(), f);
      return f;
    }

    @Override
    public CompletableFuture<Worker> resume(SuspendedWorker state, String workerId) {
      ((CountingState) state).resumes.incrementAndGet();
      CompletableFuture<Worker> f = new CompletableFuture<>();
      resumes.put(workerId, f);
      return f;
    }

    CountingState finishSave(String workerId) {
      ScriptedWorker w = scripted.worker(workerId);
      w.stop();
      w.finishStop();
      CountingState state = new CountingState(workerId);
      saves.remove(workerId).complete(state);
      return state;
    }

    void failSave(String workerId) {
      saves.remove(workerId).completeExceptionally(new IOException("disk full"));
    }

    ScriptedWorker finishResume() {
      String id = resumes.keySet().iterator().next();
      ScriptedWorker w = (ScriptedWorker) scripted.spawn(id).join();
      resumes.remove(id).complete(w);
      return w;
    }

    void failResume(String why) {
      String id = resumes.keySet().iterator().next();
      resumes.remove(id).completeExceptionally(new WorkerStartException(why));
    }
  }

  /**
   * A pool whose {@code sessionSuspended} listener counts {@code heard} down and then holds the
   * announcing thread until {@code letGo}: the window between a suspension's decision and its
   * announcement, held open.
   */
  private LocalSessionPool poolHeardSuspendingUntil(CountDownLatch heard, CountDownLatch letGo) {
    return (LocalSessionPool)
        SessionPool.builder(config().build(), factory).ticker(time).scheduler(time)
            .listener(events)
            .listener(
                new PoolListener() {
                  @Override
                  public void sessionSuspended(String key, Worker worker) {
                    heard.countDown();
                    try {
                      letGo.await();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }
                })
            .build();
  }
}
