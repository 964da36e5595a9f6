package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.InMemorySessionDirectory;
import io.herd.core.PoolClosedException;
import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.QueueFullException;
import io.herd.core.Scheduler;
import io.herd.core.SessionBinding;
import io.herd.core.SessionDirectory;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionEndedException;
import io.herd.core.SessionInfo;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerStartException;
import io.herd.core.local.PooledWorker.State;
import io.herd.core.local.Session.Phase;
import io.herd.core.testing.ScriptedWorker;
import io.herd.core.testing.ScriptedWorkerFactory;
import io.herd.core.testing.VirtualTime;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Model-based randomized test of the pool: random configurations, random interleavings of
 * everything that can happen to a pool, and the allocator's invariants checked after every step.
 *
 * <p>Everything runs on the test thread: the workers are {@link ScriptedWorker}s whose spawns,
 * exits and health answers the test performs, time is a {@link VirtualTime}, and the pool's own
 * callbacks (directory writes, listener calls) sometimes perform a step of their own before they
 * return — which is how the interleavings of concurrent threads (an exit between a worker's
 * hand-off and its session's activation, an acquire of a key whose end is being reported) are
 * reached deterministically. A run is therefore a pure function of its seed.
 *
 * <p>Steps: acquire, close a lease, end, cancel an acquire, time passing (TTL, maxLifetime,
 * acquire deadlines, spawn backoff, health ticks), spawn success, spawn failure, dead on arrival,
 * crash, stop completing, health turning bad or good, health answers, and shutdown. Configurations:
 * min, max, warm, maxQueue, reuse, evictIdleOnPressure, maxSessionsPerWorker, maxLifetime, TTL,
 * acquire timeout, health failures, backoff.
 *
 * <p>Checked after every step (see {@link Allocator}'s header): a session has at most one worker;
 * a worker serves at most one session (and, without reuse, only one in its life); busy workers =
 * live sessions holding a worker; no worker busy without a live session; processes that exist
 * (starting and stopping included, counted by the factory) ≤ max; the queue within {@code maxQueue}
 * of what in-flight capacity covers, and never a waiter beside an idle worker; every session's
 * start reported before its end and its end reported exactly once; directory binding ⇔ live
 * session; no lease on a worker the pool knows dead; every acquire completed once its deadline has
 * passed. At the end of each run the pool is shut down and must terminate with every process gone
 * and every session ended.
 *
 * <p>Each CI run uses a fresh seed, printed first. To replay a failing run exactly (its seed is in
 * the failure message):
 *
 * <pre>
 * mvn -B -o -pl herd-core -am verify -Dtest=PoolModelTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dherd.model.seed=SEED -Dherd.model.runs=1
 * </pre>
 *
 * <p>{@code -Dherd.model.runs} and {@code -Dherd.model.steps} change the size (default: 150 runs of
 * 120 steps, 18,000 steps).
 */
class PoolModelTest {

  private static final int RUNS = Integer.getInteger("herd.model.runs", 150);
  private static final int STEPS = Integer.getInteger("herd.model.steps", 120);
  private static final List<String> KEYS = List.of("a", "b", "c", "d", "e", "f");

  @Test
  void invariantsHoldAfterEveryStepOfRandomInterleavings() {
    long seed = Long.getLong("herd.model.seed", new Random().nextLong());
    System.out.println("PoolModelTest seed " + seed + " (replay: -Dherd.model.seed=" + seed + ")");
    long steps = 0;
    Map<String, Integer> outcomes = new java.util.TreeMap<>();
    for (int run = 0; run < RUNS; run++) {
      ModelRun r = new ModelRun(seed + run);
      r.run(STEPS);
      steps += r.steps;
      r.outcomes.forEach((k, v) -> outcomes.merge(k, v, Integer::sum));
    }
    // What the runs reached, so that a change that stops reaching a path shows here.
    System.out.println("PoolModelTest: " + RUNS + " runs, " + steps + " steps, " + outcomes);
    assertThat(steps).isGreaterThanOrEqualTo((long) RUNS * STEPS);
  }

  /** One pool, one configuration, one seed. */
  static final class ModelRun {

    final long seed;
    final Random rnd;
    final PoolConfig config;
    final VirtualTime time = new VirtualTime();
    final ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
    final InMemorySessionDirectory bindings = new InMemorySessionDirectory();
    /** Null while the pool is being built: no step interleaves with its construction. */
    LocalSessionPool pool;
    final ArrayDeque<String> trace = new ArrayDeque<>();
    final List<Acquire> acquires = new ArrayList<>();
    final List<SessionLease> leases = new ArrayList<>();
    final EventChecker events;
    CompletableFuture<Void> terminated;
    boolean shutdownCalled;
    /** Failures inside the pool's callbacks, which the pool logs and swallows. */
    final List<Throwable> callbackFailures = new ArrayList<>();
    /** How often each kind of outcome was reached. */
    final Map<String, Integer> outcomes = new HashMap<>();
    /** Order of the events that matter for leases: announcements and exits. */
    long sequence;
    final Map<String, Long> exitedAt = new HashMap<>();
    /** Drained worker ids, each with the session it served when drained (null: none). */
    final Map<String, Session> drained = new HashMap<>();
    int steps;
    int depth;
    /** The key of the last acquire, which interleaved steps prefer. */
    String lastKey = "a";

    /** One acquire the test made, and its deadline. */
    record Acquire(String key, CompletableFuture<SessionLease> future, long deadline) {}

    ModelRun(long seed) {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.events = new EventChecker();
      int max = 1 + rnd.nextInt(4);
      PoolConfig.Builder b =
          PoolConfig.builder()
              .name("model")
              .max(max)
              .min(rnd.nextInt(3) == 0 ? rnd.nextInt(max + 1) : 0)
              .warm(rnd.nextInt(Math.min(max, 2) + 1))
              .maxQueue(rnd.nextInt(4))
              .reuse(rnd.nextBoolean())
              .evictIdleOnPressure(rnd.nextBoolean())
              .maxSessionsPerWorker(rnd.nextInt(3))
              .ttl(Duration.ofMillis(500 + rnd.nextInt(20_000)))
              .acquireTimeout(Duration.ofMillis(200 + rnd.nextInt(10_000)))
              .healthInterval(Duration.ofMillis(500 + rnd.nextInt(5_000)))
              .healthTimeout(Duration.ofSeconds(1))
              .healthFailures(1 + rnd.nextInt(2))
              .spawnBackoffInitial(Duration.ofMillis(50 + rnd.nextInt(1_000)))
              .spawnBackoffMax(Duration.ofMillis(2_000 + rnd.nextInt(5_000)));
      if (rnd.nextBoolean()) {
        b.maxLifetime(Duration.ofMillis(1_000 + rnd.nextInt(30_000)));
      }
      this.config = b.build();
      factory
          .startAtOnce(rnd.nextInt(5) == 0)
          .exitOnStop(rnd.nextInt(3) == 0)
          .answerHealthAtOnce(rnd.nextBoolean());
      SessionPool p =
          SessionPool.builder(config, factory)
              .directory(new HookedDirectory())
              .ticker(time)
              .scheduler(new HookedScheduler())
              .listener(events)
              .build();
      this.pool = (LocalSessionPool) p;
      note("config " + config + "; factory start/stop/health at once: " + factory);
      check("after start");
    }

    void run(int steps) {
      try {
        for (int i = 0; i < steps; i++) {
          step();
          this.steps++;
          check("after step " + i);
        }
        drainAndCheckShutdown();
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError(
            "model run failed, seed "
                + seed
                + " (replay: -Dherd.model.seed="
                + seed
                + " -Dherd.model.runs=1)\n"
                + "last steps:\n  "
                + String.join("\n  ", trace)
                + "\n"
                + e,
            e);
      }
    }

    // ------------------------------------------------------------ steps

    void step() {
      int r = rnd.nextInt(100);
      if (r < 22) {
        acquire(randomKey());
      } else if (r < 36) {
        closeLease();
      } else if (r < 41) {
        end(randomKey());
      } else if (r < 44) {
        cancelAcquire();
      } else if (r < 54) {
        advance(Duration.ofMillis(rnd.nextInt(500)));
      } else if (r < 59) {
        advance(Duration.ofMillis(500 + rnd.nextInt(5_000)));
      } else if (r < 61) {
        advance(Duration.ofMillis(5_000 + rnd.nextInt(60_000)));
      } else if (r < 71) {
        completeSpawn();
      } else if (r < 74) {
        failSpawn();
      } else if (r < 76) {
        deadOnArrival();
      } else if (r < 79) {
        crash(randomAlive());
      } else if (r < 87) {
        finishStop();
      } else if (r < 90) {
        toggleHealth();
      } else if (r < 95) {
        answerHealth();
      } else if (r < 97) {
        drain();
      } else if (r < 99 || shutdownCalled || rnd.nextInt(3) > 0) {
        advance(Duration.ofMillis(rnd.nextInt(100)));
      } else {
        shutdown();
      }
    }

    /** From inside the pool's callbacks: a step another thread could take at that moment. */
    void maybeInterleave(String where, String key, String workerId) {
      if (pool == null || depth >= 2 || rnd.nextInt(100) >= 15) {
        return;
      }
      if (key == null || rnd.nextInt(4) == 0) {
        key = randomKey();
      }
      depth++;
      try {
        int r = rnd.nextInt(6);
        note("  inside " + where + ":");
        count("interleaved step");
        switch (r) {
          case 0 -> crash(workerId == null ? randomAlive() : aliveOrNull(workerId));
          case 1 -> end(key);
          case 2 -> acquire(key);
          case 3 -> closeLease();
          case 4 -> drain();
          default -> completeSpawn();
        }
      } finally {
        depth--;
      }
    }

    void acquire(String key) {
      note("acquire " + key);
      lastKey = key;
      CompletableFuture<SessionLease> f = pool.acquire(key);
      Acquire a = new Acquire(key, f, time.read() + config.acquireTimeout().toNanos());
      acquires.add(a);
      f.whenComplete((lease, err) -> inCallback(() -> onAcquired(a, lease, err)));
    }

    void onAcquired(Acquire a, SessionLease lease, Throwable err) {
      if (err != null) {
        Throwable t = err instanceof CompletionException ? err.getCause() : err;
        assertThat(t)
            .as("failure of acquire %s", a.key)
            .isInstanceOfAny(
                AcquireTimeoutException.class,
                QueueFullException.class,
                WorkerStartException.class,
                SessionEndedException.class,
                PoolClosedException.class,
                CancellationException.class);
        note("  acquire " + a.key + " failed: " + t.getClass().getSimpleName());
        count("acquire failed " + t.getClass().getSimpleName());
        return;
      }
      note("  acquire " + a.key + " → " + lease.worker().id());
      assertThat(lease.key()).isEqualTo(a.key);
      ScriptedWorker w = factory.worker(lease.worker().id());
      // The future may have completed inside pool.acquire, before this callback was registered and
      // before a step interleaved later in that call: judge by the order of events, not by now.
      Long announced = events.announcedAt.get(a.key + "@" + w.id());
      assertThat(announced).as("lease of %s on %s, never announced for it", a.key, w.id()).isNotNull();
      Long exited = exitedAt.get(w.id());
      assertThat(exited == null || exited > announced)
          .as("lease of %s on %s, which exited before the session was announced", a.key, w.id())
          .isTrue();
      Session current = pool.session(a.key);
      if (current != null && !current.isEnded() && current.worker != null
          && current.worker.id.equals(w.id())) {
        Allocator.WorkerView view = view(w.id());
        assertThat(view).as("lease on %s, which the pool no longer counts", w.id()).isNotNull();
        assertThat(view.state())
            .as("lease of live %s on %s, which the pool knows is %s", a.key, w.id(), view.state())
            .isEqualTo(State.BUSY);
        assertThat(view.session()).isSameAs(current);
      }
      leases.add(lease);
      count(lease.newSession() ? "lease, new session" : "lease");
    }

    void count(String outcome) {
      outcomes.merge(outcome, 1, Integer::sum);
    }

    void closeLease() {
      if (leases.isEmpty()) {
        return;
      }
      SessionLease l = leases.remove(rnd.nextInt(leases.size()));
      note("close lease " + l.key() + " on " + l.worker().id());
      l.close();
    }

    void end(String key) {
      note("end " + key + " → " + pool.end(key));
    }

    void cancelAcquire() {
      List<Acquire> pending = acquires.stream().filter(a -> !a.future.isDone()).toList();
      if (!pending.isEmpty()) {
        Acquire a = pending.get(rnd.nextInt(pending.size()));
        note("cancel acquire " + a.key);
        a.future.cancel(false);
      }
    }

    void advance(Duration d) {
      note("advance " + d.toMillis() + " ms");
      time.advance(d);
    }

    void completeSpawn() {
      List<String> pending = factory.pendingSpawns();
      if (!pending.isEmpty()) {
        String id = pending.get(rnd.nextInt(pending.size()));
        note("spawn " + id + " ready");
        factory.completeSpawn(id);
      }
    }

    void failSpawn() {
      List<String> pending = factory.pendingSpawns();
      if (!pending.isEmpty()) {
        String id = pending.get(rnd.nextInt(pending.size()));
        note("spawn " + id + " fails");
        factory.failSpawn(id, "scripted failure");
      }
    }

    void deadOnArrival() {
      List<String> pending = factory.pendingSpawns();
      if (!pending.isEmpty()) {
        String id = pending.get(rnd.nextInt(pending.size()));
        note("spawn " + id + " ready but dead on arrival");
        exitedAt.putIfAbsent(id, ++sequence);
        factory.completeSpawnDead(id);
      }
    }

    void crash(ScriptedWorker w) {
      if (w != null) {
        note("crash " + w.id());
        exitedAt.putIfAbsent(w.id(), ++sequence);
        w.crash("scripted crash");
      }
    }

    void drain() {
      ScriptedWorker w = randomAlive();
      if (w == null) {
        return;
      }
      Allocator.WorkerView before = view(w.id());
      note("drain " + w.id());
      boolean found = pool.drain(w.id());
      if (before != null && before.state() != State.STARTING) {
        drained.putIfAbsent(w.id(), before.session());
        count(found ? "drained" : "drain of a worker just gone");
      }
    }

    void finishStop() {
      List<ScriptedWorker> stopping =
          factory.aliveWorkers().stream().filter(ScriptedWorker::stopRequested).toList();
      if (!stopping.isEmpty()) {
        ScriptedWorker w = stopping.get(rnd.nextInt(stopping.size()));
        note("stopped " + w.id() + " exits");
        exitedAt.putIfAbsent(w.id(), ++sequence);
        w.finishStop();
      }
    }

    void toggleHealth() {
      ScriptedWorker w = randomAlive();
      if (w != null) {
        boolean healthy = rnd.nextInt(3) == 0;
        note(w.id() + " now " + (healthy ? "healthy" : "unhealthy"));
        w.healthy(healthy);
      }
    }

    void answerHealth() {
      List<ScriptedWorker> asked =
          factory.workers().stream().filter(w -> w.pendingHealthChecks() > 0).toList();
      if (!asked.isEmpty()) {
        ScriptedWorker w = asked.get(rnd.nextInt(asked.size()));
        note("health checks of " + w.id() + " answered");
        w.answerHealthChecks();
      }
    }

    void shutdown() {
      note("shutdown");
      count("shutdown mid-run");
      shutdownCalled = true;
      terminated = pool.shutdown();
    }

    /** Shuts down (if no step did) and lets every worker go; then the pool must have terminated. */
    void drainAndCheckShutdown() {
      if (!shutdownCalled) {
        shutdown();
        outcomes.merge("shutdown mid-run", -1, Integer::sum);
        check("after shutdown");
      }
      for (int i = 0; i < 1000 && !(terminated.isDone() && factory.processes() == 0); i++) {
        int r = rnd.nextInt(4);
        if (r == 0) {
          completeSpawn();
        } else if (r == 1) {
          failSpawn();
        } else if (r == 2) {
          finishStop();
        } else {
          answerHealth();
          advance(Duration.ofSeconds(10));
        }
        check("draining, step " + i);
      }
      assertThat(terminated).as("pool terminated").isDone();
      assertThat(factory.processes()).as("processes left after shutdown").isZero();
      assertThat(factory.pendingSpawns()).isEmpty();
      for (Acquire a : acquires) {
        assertThat(a.future).as("acquire of %s completed", a.key).isDone();
      }
      for (String key : KEYS) {
        assertThat(events.live(key)).as("session %s ended by shutdown", key).isFalse();
      }
      assertThat(bindings.size()).as("bindings left").isZero();
      assertThat(pool.sessions()).isEmpty();
      events.checkWorkersAllGone(factory);
    }

    // ------------------------------------------------------------ invariants

    /** Runs a check inside one of the pool's callbacks, keeping what it throws for the test. */
    void inCallback(Runnable check) {
      try {
        check.run();
      } catch (AssertionError | RuntimeException e) {
        callbackFailures.add(e);
        throw e;
      }
    }

    void check(String when) {
      if (!callbackFailures.isEmpty()) {
        throw new AssertionError("in a pool callback " + when, callbackFailures.get(0));
      }
      Allocator.Snapshot snap = pool.allocator().snapshot();
      long now = time.read();
      String state = when + ": " + snap;

      // Processes that exist, starting and stopping ones included, within max; spawns prepared
      // ahead of a slot (PREPARING) have no process yet, and never wait beside a free slot.
      long preparing = snap.workers().stream().filter(v -> v.state() == State.PREPARING).count();
      long counted = snap.workers().size() - preparing;
      assertThat(counted).as("workers counted, %s", state).isLessThanOrEqualTo(config.max());
      if (preparing > 0 && !snap.closed()) {
        count("a spawn prepared while its slot was being freed");
        assertThat(counted).as("a prepared spawn waits beside a free slot, %s", state)
            .isGreaterThanOrEqualTo(config.max());
      }
      assertThat(factory.processes()).as("processes, %s", state).isLessThanOrEqualTo(config.max());
      assertThat(factory.maxProcesses())
          .as("processes at any moment so far, %s", state)
          .isLessThanOrEqualTo(config.max());

      // A worker serves at most one session, a session has at most one worker, busy ⇔ live.
      Map<Session, PooledWorker> workerOf = new HashMap<>();
      int busy = 0;
      int idle = 0;
      for (Allocator.WorkerView v : snap.workers()) {
        assertThat(v.state()).isNotEqualTo(State.DEAD);
        if (v.state() == State.IDLE) {
          idle++;
        }
        if (v.state() != State.BUSY) {
          assertThat(v.session()).as("%s is %s with a session, %s", v.worker(), v.state(), state).isNull();
          continue;
        }
        busy++;
        Session s = v.session();
        assertThat(s).as("busy %s without a session, %s", v.worker(), state).isNotNull();
        assertThat(v.sessionsWorker()).as("session %s's worker, %s", s, state).isSameAs(v.worker());
        assertThat(v.sessionPhase()).as("phase of %s, %s", s, state).isEqualTo(Phase.ACTIVE);
        assertThat(s.isEnded()).as("%s busy for ended %s, %s", v.worker(), s, state).isFalse();
        assertThat(pool.session(s.key)).as("%s busy for %s, not in the map, %s", v.worker(), s, state).isSameAs(s);
        assertThat(workerOf.put(s, v.worker())).as("%s has two workers, %s", s, state).isNull();
      }
      assertThat(busy).isEqualTo(snap.busy());
      assertThat(idle).isEqualTo(snap.idle());

      // A drained worker is never idle, and serves no session but the one it had when drained.
      for (Allocator.WorkerView v : snap.workers()) {
        if (!drained.containsKey(v.worker().id)) {
          continue;
        }
        assertThat(v.state()).as("drained %s, %s", v.worker(), state).isNotEqualTo(State.IDLE);
        if (v.state() == State.BUSY) {
          assertThat(v.session()).as("session of drained %s, %s", v.worker(), state)
              .isSameAs(drained.get(v.worker().id));
        }
      }

      // Live sessions with a worker are exactly the busy workers' sessions; none ended lingers.
      Map<String, String> live = new LinkedHashMap<>();
      for (SessionInfo info : pool.sessions()) {
        live.put(info.key(), info.workerId());
      }
      assertThat(live).as("sessions holding a worker, %s", state).hasSize(busy);
      for (Map.Entry<Session, PooledWorker> e : workerOf.entrySet()) {
        assertThat(live).containsEntry(e.getKey().key, e.getValue().id);
      }
      for (String key : KEYS) {
        Session s = pool.session(key);
        if (s != null) {
          assertThat(s.isEnded()).as("ended %s still in the map, %s", s, state).isFalse();
          assertThat(s.phase).as("phase of %s in the map, %s", s, state).isIn(Phase.QUEUED, Phase.ACTIVE);
        }
      }

      // The queue: waiting sessions only, never beside an idle worker, within maxQueue.
      for (Allocator.SessionView q : snap.queue()) {
        assertThat(q.phase()).isEqualTo(Phase.QUEUED);
        assertThat(q.session().isEnded()).as("ended %s queued, %s", q.session(), state).isFalse();
        assertThat(q.session().holders()).as("nobody waits for queued %s, %s", q.session(), state).isPositive();
        assertThat(pool.session(q.session().key)).isSameAs(q.session());
      }
      if (!snap.queue().isEmpty()) {
        assertThat(idle).as("idle workers while sessions wait, %s", state).isZero();
      }
      assertThat(snap.queue().size())
          .as("queued, %s", state)
          .isLessThanOrEqualTo(config.maxQueue() + config.max() - busy - idle);

      // Directory binding ⇔ live session, bound to its worker.
      for (String key : KEYS) {
        Optional<SessionBinding> b = bindings.lookup(key);
        if (live.containsKey(key)) {
          assertThat(b).as("binding of live session %s, %s", key, state).isPresent();
          assertThat(b.get().workerId()).isEqualTo(live.get(key));
        } else {
          assertThat(b).as("binding of %s, which has no live session, %s", key, state).isEmpty();
        }
        assertThat(events.live(key)).as("listener view of %s, %s", key, state).isEqualTo(live.containsKey(key));
      }

      // Open leases: one session per worker.
      Map<String, Set<String>> keysByWorker = new HashMap<>();
      for (SessionLease l : leases) {
        keysByWorker.computeIfAbsent(l.worker().id(), w -> new HashSet<>()).add(l.key());
      }
      keysByWorker.forEach(
          (w, keys) -> assertThat(keys).as("open leases on %s, %s", w, state).hasSize(1));

      // Every acquire completes by its deadline.
      for (Acquire a : acquires) {
        if (now - a.deadline >= 0) {
          assertThat(a.future).as("acquire of %s past its deadline, %s", a.key, state).isDone();
        }
      }

      // Gauges agree with the state once a step is over.
      assertThat(pool.stats().workers()).isEqualTo(snap.workers().size());
      assertThat(pool.stats().queued()).isEqualTo(snap.queue().size());
      assertThat(pool.stats().sessions()).as("sessions gauge, %s", state).isEqualTo(live.size());
    }

    // ------------------------------------------------------------ helpers

    Allocator.WorkerView view(String workerId) {
      for (Allocator.WorkerView v : pool.allocator().snapshot().workers()) {
        if (v.worker().id.equals(workerId)) {
          return v;
        }
      }
      return null;
    }

    String randomKey() {
      return KEYS.get(rnd.nextInt(KEYS.size()));
    }

    ScriptedWorker randomAlive() {
      List<ScriptedWorker> alive = factory.aliveWorkers();
      return alive.isEmpty() ? null : alive.get(rnd.nextInt(alive.size()));
    }

    ScriptedWorker aliveOrNull(String id) {
      ScriptedWorker w = factory.worker(id);
      return w.hasExited() ? null : w;
    }

    void note(String line) {
      trace.addLast("[" + time.elapsed().toMillis() + " ms] " + "  ".repeat(depth) + line);
      if (trace.size() > 80) {
        trace.removeFirst();
      }
    }

    <T> T noting(String what, Supplier<T> action) {
      T result = action.get();
      note(what + " → " + result);
      return result;
    }

    // ------------------------------------------------------------ the pool's callbacks

    /**
     * The virtual clock's scheduler, with a chance of another step whenever the pool arms a timer:
     * the pool calls it between the steps of its own operations (between inserting a new session
     * and handing it to the allocator, between confirming a session and completing its acquires),
     * which is where another thread may act.
     */
    final class HookedScheduler implements Scheduler {
      @Override
      public Task schedule(Runnable task, long delay, TimeUnit unit) {
        inCallback(() -> maybeInterleave("schedule", lastKey, null));
        return time.schedule(task, delay, unit);
      }
    }

    /** The in-memory directory, with a chance of another step while the pool writes to it. */
    final class HookedDirectory implements SessionDirectory {
      @Override
      public Optional<SessionBinding> bind(SessionBinding binding) {
        inCallback(() -> maybeInterleave("bind " + binding.key(), binding.key(), binding.workerId()));
        Optional<SessionBinding> other = bindings.bind(binding);
        inCallback(() -> assertThat(other).as("%s bound while %s is", binding, other).isEmpty());
        return other;
      }

      @Override
      public Optional<SessionBinding> lookup(String key) {
        return bindings.lookup(key);
      }

      @Override
      public boolean unbind(SessionBinding binding) {
        inCallback(() -> maybeInterleave("unbind " + binding.key(), binding.key(), null));
        return bindings.unbind(binding);
      }

      @Override
      public int size() {
        return bindings.size();
      }
    }

    /**
     * Checks the order of the pool's events as they arrive: per key, started and ended alternate
     * and start with started (so each end is reported once, after its start); per worker,
     * started once, ended once, sessions one at a time. May interleave a step of its own.
     */
    final class EventChecker implements PoolListener {
      final Map<String, String> sessionWorker = new HashMap<>();
      final Set<String> workersStarted = new HashSet<>();
      final Set<String> workersEnded = new HashSet<>();
      final Map<String, String> sessionOnWorker = new HashMap<>();
      final Map<String, Integer> sessionsServed = new HashMap<>();
      final Map<String, Long> announcedAt = new HashMap<>();

      boolean live(String key) {
        return sessionWorker.containsKey(key);
      }

      @Override
      public void sessionStarted(String key, Worker worker) {
        inCallback(() -> {
          note("  event sessionStarted " + key + " on " + worker.id());
          assertThat(sessionWorker).as("%s started twice", key).doesNotContainKey(key);
          assertThat(workersStarted).as("session on unannounced %s", worker.id()).contains(worker.id());
          assertThat(sessionOnWorker)
              .as("%s started on %s while it serves another session", key, worker.id())
              .doesNotContainKey(worker.id());
          int served = sessionsServed.merge(worker.id(), 1, Integer::sum);
          if (!config.reuse()) {
            assertThat(served).as("sessions on %s without reuse", worker.id()).isEqualTo(1);
          } else if (config.maxSessionsPerWorker() > 0) {
            assertThat(served).isLessThanOrEqualTo(config.maxSessionsPerWorker());
          }
          sessionWorker.put(key, worker.id());
          announcedAt.put(key + "@" + worker.id(), ++sequence);
          count("sessionStarted");
          sessionOnWorker.put(worker.id(), key);
          maybeInterleave("sessionStarted " + key, key, worker.id());
        });
      }

      @Override
      public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
        inCallback(() -> {
          note("  event sessionEnded " + key + " on " + worker.id() + " " + reason);
          assertThat(sessionWorker.remove(key))
              .as("%s ended (%s) without being started, or twice", key, reason)
              .isEqualTo(worker.id());
          sessionOnWorker.remove(worker.id());
          count("sessionEnded " + reason);
          if (reason == SessionEndReason.SHUTDOWN) {
            assertThat(shutdownCalled).as("SHUTDOWN before shutdown").isTrue();
          }
          maybeInterleave("sessionEnded " + key, key, null);
        });
      }

      @Override
      public void workerStarted(Worker worker) {
        inCallback(() -> {
          note("  event workerStarted " + worker.id());
          assertThat(workersStarted.add(worker.id())).as("%s started twice", worker.id()).isTrue();
        });
      }

      @Override
      public void workerStopped(Worker worker, WorkerExit exit) {
        // Not checked: that the end of the session it served came first. Reported from two
        // threads (a worker exiting while the end of its session is reported), they may cross;
        // PoolListener promises order per session and per worker only.
        workerEnded(worker, "stopped");
      }

      @Override
      public void workerCrashed(Worker worker, WorkerExit exit) {
        workerEnded(worker, "crashed");
      }

      private void workerEnded(Worker worker, String how) {
        inCallback(
            () -> {
              note("  event worker " + how + " " + worker.id());
              assertThat(workersStarted).contains(worker.id());
              assertThat(workersEnded.add(worker.id())).as("%s ended twice", worker.id()).isTrue();
            });
      }

      void checkWorkersAllGone(ScriptedWorkerFactory f) {
        assertThat(workersEnded).as("workers reported gone").isEqualTo(workersStarted);
      }
    }
  }
}
