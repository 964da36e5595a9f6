package io.herd.core.local;

import io.herd.core.PoolClosedException;
import io.herd.core.PoolConfig;
import io.herd.core.QueueFullException;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionEndedException;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerInfo;
import io.herd.core.WorkerStartException;
import io.herd.core.local.PooledWorker.State;
import io.herd.core.local.Session.Phase;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The pool's state machine: which worker serves which session, who waits, what to spawn and what
 * to stop. It only <em>decides</em>. Each event (a session to place, a session ended, a spawn done,
 * a worker exited, a health answer, a timer) is one method that takes the lock, moves workers and
 * sessions between states, and returns the {@link Effects} the pool must carry out after the lock
 * is released. It does no I/O, completes no future, calls no listener and reads no clock: the time
 * is an argument. That makes every decision a plain function of the state and the event, which the
 * model test ({@code PoolModelTest}) drives through thousands of random interleavings.
 *
 * <h2>States</h2>
 *
 * <p>Workers move through {@link PooledWorker.State} (PREPARING, STARTING, IDLE, BUSY, CHECKING,
 * STOPPING, SUSPENDING, RESUMING, DEAD) and sessions through {@link Session.Phase} (NEW, QUEUED, ASSIGNED,
 * ACTIVE, the suspension phases SUSPENDING to RESTORED, DONE); the diagrams are on those enums.
 * Each transition happens in exactly one place:
 *
 * <table>
 *   <caption>Where each transition happens</caption>
 *   <tr><th>transition</th><th>method</th></tr>
 *   <tr><td>→ STARTING</td><td>{@link #startSpawn}, from {@link #rebalance}</td></tr>
 *   <tr><td>→ PREPARING</td><td>{@link #startPrepared}, from {@link #rebalance}</td></tr>
 *   <tr><td>PREPARING → STARTING</td><td>{@link #admitPrepared}, from {@link #rebalance}, once a
 *       slot is free</td></tr>
 *   <tr><td>STARTING → IDLE / BUSY</td><td>{@link #joined} via {@link #offer}, once {@link
 *       #spawned} was announced</td></tr>
 *   <tr><td>STARTING / PREPARING → DEAD</td><td>{@link #spawnFailed}</td></tr>
 *   <tr><td>IDLE / STARTING / CHECKING → BUSY, QUEUED/NEW → ASSIGNED</td><td>{@link #handoff}</td></tr>
 *   <tr><td>BUSY → CHECKING / STOPPING</td><td>{@link #free}, when its session finishes</td></tr>
 *   <tr><td>CHECKING → IDLE / BUSY</td><td>{@link #recycleChecked} via {@link #offer}</td></tr>
 *   <tr><td>any live → STOPPING</td><td>{@link #retire}; an operator's {@link #drain} retires an
 *       idle worker at once and marks a busy or checking one, which {@link #free} or {@link
 *       #recycleChecked} then retires instead of reusing</td></tr>
 *   <tr><td>live (or spawned, not yet joined) → crashed (session ends CRASHED, reported once)</td>
 *       <td>{@link #crash}: the one crash path, for exits, failed health checks and failed
 *       recycle checks alike</td></tr>
 *   <tr><td>any → DEAD</td><td>{@link #exited}</td></tr>
 *   <tr><td>ASSIGNED → ACTIVE</td><td>{@link #confirm}</td></tr>
 *   <tr><td>BUSY → SUSPENDING, ACTIVE (parked) → SUSPENDING</td><td>{@link #beginSuspend}, from
 *       {@link #suspend}, {@link #wake} or an eviction</td></tr>
 *   <tr><td>SUSPENDING → DEAD</td><td>{@link #suspended}; failed: worker → STOPPING, session
 *       → DONE in {@link #suspendFailed}</td></tr>
 *   <tr><td>session SUSPENDING → SUSPENDED (or RESUME_QUEUED)</td><td>{@link
 *       #confirmSuspended}, once {@code sessionSuspended} has been heard</td></tr>
 *   <tr><td>SUSPENDED → RESUME_QUEUED</td><td>{@link #wake} (or {@link #confirmSuspended}); back
 *       by {@link #withdrawResume}</td></tr>
 *   <tr><td>→ RESUMING (worker and session)</td><td>{@link #startResume}, from {@link
 *       #rebalance}</td></tr>
 *   <tr><td>session RESUMING → RESTORED</td><td>{@link #resumed}; failed: {@link
 *       #resumeFailed}</td></tr>
 *   <tr><td>RESUMING → BUSY, RESTORED → ACTIVE (unparked)</td><td>{@link
 *       #confirmRestore}</td></tr>
 *   <tr><td>any → DONE</td><td>{@link #end} (and {@link #finishPending}, {@link
 *       #finishAnnounced} below it)</td></tr>
 * </table>
 *
 * <h2>Invariants</h2>
 *
 * <p>Hold whenever the lock is free; {@code PoolModelTest} checks each after every step.
 *
 * <ol>
 *   <li>A session has at most one worker, assigned once ({@link Session#assigned} is written once).
 *   <li>A worker serves at most one session: it is BUSY exactly when {@link PooledWorker#session}
 *       is set, and then that session's assigned worker is this one (or it is RESUMING, for the
 *       session it restores).
 *   <li>Busy workers = sessions that hold a worker (ASSIGNED or ACTIVE).
 *   <li>No worker is busy for a session that is DONE.
 *   <li>Processes that exist — every worker not DEAD or PREPARING, starting and stopping ones
 *       included — number at most {@code max}. A stopping worker still holds its memory, so its
 *       successor's process starts only once it has exited; the successor waits PREPARING
 *       meanwhile, and no more of them wait than workers are stopping. (After {@link
 *       #reconfigure} lowered {@code max}, the excess drains as its sessions end and nothing is
 *       spawned until it has.)
 *   <li>No worker is idle while a session waits, and every waiting session has an acquirer waiting
 *       for it (one whose acquirers all gave up is withdrawn).
 *   <li>{@code queued <= maxQueue + (max - busy - idle)}: the queue holds at most {@code maxQueue}
 *       sessions beyond those that workers not yet serving anyone (starting, being checked, being
 *       stopped and replaced, or a free slot below max) will serve.
 *   <li>Every session is finished exactly once: an announced one is reported ended, an unannounced
 *       one has its acquirers failed. An end that arrives while the session is being announced is
 *       carried out by its confirmation, after {@code sessionStarted}.
 * </ol>
 *
 * <h2>Suspension</h2>
 *
 * <p>With {@code suspendAfter}, a session parked by its idle timer ({@link Session#parkIfIdle})
 * has its worker saved (SUSPENDING, still counted against {@code max}) and becomes SUSPENDED once
 * the factory says the process has gone. Its acquirers hold it and ask for its resume through
 * {@link #wake}: only the phase change SUSPENDED → RESUME_QUEUED starts one, under the lock, so
 * one resume serves all of them. Resumes wait in the same FIFO {@link #queue} as new sessions but
 * need a free slot, not an idle worker ({@link #startResumes}). Every saved state is resumed or
 * discarded exactly once: {@link Session#saved} is cleared under the lock by whichever happens.
 *
 * <h2>Sizing</h2>
 *
 * <p>The pool keeps {@code max(min, busy + checking + queued + warm)} workers that serve or will
 * serve (idle, busy, checking, starting, preparing), capped so that with the stopping ones they
 * stay within {@code max}. While spawns fail, at most one is in flight and the next waits for
 * {@link SpawnBackoff}. Idle workers beyond {@code warm} and {@code min} that have been idle for a
 * TTL are retired on the maintenance tick.
 *
 * <h2>Hand-off at max</h2>
 *
 * <p>When every slot is taken and a worker is stopping (evicted, retired after its session), a
 * spawn its slot is needed for does not wait for the exit to be decided: it starts PREPARING at
 * once, with a {@link PooledWorker#mayStart} gate, so that its factory prepares the worker's
 * sandbox while the old process stops ({@link io.herd.core.WorkerFactory#spawn(String,
 * CompletableFuture)}). The decision that hears of an exit gives the freed slot to the oldest
 * PREPARING worker ({@link #admitPrepared}), which becomes STARTING; its gate is completed after
 * the lock, and only then does its factory fork. At most one spawn is prepared per stopping
 * worker, and none while spawns fail.
 *
 * <h2>Eviction</h2>
 *
 * <p>With {@code evictIdleOnPressure}, while sessions wait that nothing in flight will serve, the
 * least recently used ACTIVE session with no holder is ended ({@code EVICTED}) by a
 * compare-and-set from zero holders; a lease taken at the same moment wins, and the search moves
 * on to the next candidate. One decision evicts as many sessions as waiters are uncovered, not
 * one per round, and the successors of their workers start PREPARING in the same decision.
 *
 * <p>Thread-safety: every method takes the one lock; nothing here blocks or calls out while holding
 * it. Gauges are mirrored into volatile fields at the end of every decision, for {@code stats()}.
 * Lifetime: one per pool.
 */
final class Allocator {

  /** Replaced by {@link #reconfigure}. Guarded by {@link #lock}. */
  private PoolConfig config;
  /** {@code config.ttl()} in nanoseconds. Guarded by {@link #lock}. */
  private long ttlNanos;
  private final ReentrantLock lock = new ReentrantLock();

  /** Every worker that is not DEAD, in spawn order. Guarded by {@link #lock}. */
  private final LinkedHashSet<PooledWorker> workers = new LinkedHashSet<>();

  /** IDLE workers, most recently freed last. Guarded by {@link #lock}. */
  private final ArrayDeque<PooledWorker> idle = new ArrayDeque<>();

  /** PREPARING workers, oldest first: the order in which they get freed slots. Guarded by lock. */
  private final ArrayDeque<PooledWorker> preparing = new ArrayDeque<>();

  /** QUEUED sessions in arrival order. Guarded by {@link #lock}. */
  private final LinkedHashSet<Session> queue = new LinkedHashSet<>();

  /**
   * Sessions from SUSPENDING to RESTORED: parked, with no worker to lease. Close ends them all.
   * Guarded by {@link #lock}.
   */
  private final LinkedHashSet<Session> parked = new LinkedHashSet<>();

  /** Queued sessions that wait to resume (RESUME_QUEUED). Guarded by {@link #lock}. */
  private int resumesQueued;

  /** Sessions SUSPENDED or RESUME_QUEUED: state saved, no process. Guarded by {@link #lock}. */
  private int savedSessions;

  /** Workers per state, indexed by ordinal (DEAD is not counted). Guarded by {@link #lock}. */
  private final int[] counts = new int[State.values().length];

  /** Guarded by {@link #lock}. */
  private final SpawnBackoff backoff;

  /** Guarded by {@link #lock}. */
  private long workerSequence;

  /** Guarded by {@link #lock}. */
  private boolean retryScheduled;

  /** Guarded by {@link #lock}. */
  private boolean closed;

  /** Guarded by {@link #lock}. */
  private boolean terminated;

  // Mirrored from the guarded state at the end of every decision, for stats() and messages.
  private volatile int idleGauge;
  private volatile int busyGauge;
  private volatile int startingGauge;
  private volatile int stoppingGauge;
  private volatile int queuedGauge;
  private volatile int suspendedGauge;

  Allocator(PoolConfig config) {
    this.config = config;
    this.ttlNanos = config.ttl().toNanos();
    this.backoff = new SpawnBackoff(config.spawnBackoffInitial(), config.spawnBackoffMax());
  }

  /** Runs one decision under the lock; the one place the lock is taken for a decision. */
  private Effects decide(Consumer<Effects> decision) {
    Effects fx = new Effects();
    lock.lock();
    try {
      decision.accept(fx);
      publishGauges();
    } finally {
      lock.unlock();
    }
    return fx;
  }

  // ---------------------------------------------------------------- events: sessions

  /** A new session (NEW) wants a worker: an idle one, the queue, or a refusal. */
  Effects enqueue(Session s, long now) {
    return decide(
        fx -> {
          if (s.phase != Phase.NEW || s.isEnded()) {
            return; // ended before it got here: whoever ended it finishes it
          }
          if (closed) {
            if (s.end() != Session.ENDED) {
              finishPending(s, closedError(), fx);
            }
            return;
          }
          PooledWorker w = idle.peekLast();
          if (w != null) {
            handoff(w, s, fx);
          } else if (uncoveredWaiters() >= config.maxQueue()) {
            if (s.end() != Session.ENDED) {
              fx.queueRejections++;
              finishPending(s, new QueueFullException(queueFullMessage(s.key)), fx);
            }
            return;
          } else {
            s.phase = Phase.QUEUED;
            queue.add(s);
          }
          rebalance(now, fx);
        });
  }

  /** Every acquirer of a pending session gave up: take it out, unless it already has a worker. */
  Effects withdraw(Session s) {
    return decide(
        fx -> {
          if ((s.phase == Phase.NEW || s.phase == Phase.QUEUED) && s.endIfIdle()) {
            finishPending(
                s,
                new SessionEndedException(
                    "session '" + s.key + "' was withdrawn: every acquirer gave up waiting"),
                fx);
          }
        });
  }

  /**
   * The caller has just moved {@code s} to ENDED (its compare-and-set won): finish the end.
   *
   * @param holdersBefore holders the session had when it ended; open leases mean its worker may
   *     hold the session's in-flight work and must be stopped rather than reused
   */
  Effects sessionEnded(Session s, SessionEndReason reason, int holdersBefore, long now) {
    return decide(
        fx -> {
          end(s, reason, holdersBefore > 0, now, fx);
          rebalance(now, fx);
        });
  }

  /**
   * The pool has announced an ASSIGNED session (directory binding, {@code sessionStarted}). It
   * becomes ACTIVE and its acquirers get leases, unless it ended meanwhile: then the end recorded
   * in {@link Session#pendingEnd} is carried out now, after the announcement.
   */
  Effects confirm(Session s, long now) {
    return decide(
        fx -> {
          if (s.phase != Phase.ASSIGNED) {
            throw new IllegalStateException("confirming " + s + ", which is not ASSIGNED");
          }
          if (s.pendingEnd != null) {
            // No lease was ever made on the worker: it is as clean as after an idle end.
            finishAnnounced(s, s.pendingEnd, false, now, fx);
          } else {
            s.phase = Phase.ACTIVE;
            s.worker = s.assigned;
            if (!s.isEnded()) {
              fx.ready(s);
            } // else its ender is on its way to sessionEnded, which will finish it
          }
          rebalance(now, fx);
        });
  }

  /** A session went idle with sessions waiting: it may now be evicted for them. */
  Effects rebalance(long now) {
    return decide(fx -> rebalance(now, fx));
  }

  /**
   * The pool's settings changed. Everything decided from now on uses {@code next}: a higher
   * {@code max} spawns for the sessions waiting at once; a lower one stops idle workers beyond it
   * now, and the busy ones as their sessions end (never a session cut short). Until that excess
   * has drained, no worker is spawned, so the count of processes only falls towards the new
   * {@code max} and then stays within it.
   */
  Effects reconfigure(PoolConfig next, long now) {
    return decide(
        fx -> {
          config = next;
          ttlNanos = next.ttl().toNanos();
          backoff.limits(next.spawnBackoffInitial(), next.spawnBackoffMax());
          if (closed) {
            return;
          }
          while (staying() > next.max() && !idle.isEmpty()) {
            retire(idle.peekFirst(), fx); // longest idle first
          }
          rebalance(now, fx);
        });
  }

  // ---------------------------------------------------------------- events: workers

  /**
   * A spawn completed with a ready worker. It is announced ({@code workerStarted}) before it
   * {@link #joined joins}: until then it stays STARTING, out of reach of every other decision, so
   * that no other thread can hand it to a session (or find it unhealthy) before the listeners
   * heard of it.
   */
  Effects spawned(PooledWorker w, Worker worker, long now) {
    return decide(
        fx -> {
          requireState(w, State.STARTING);
          w.worker = worker;
          fx.watch(w);
          backoff.recordSuccess();
          if (closed) {
            retire(w, fx);
            checkTerminated(fx);
            return;
          }
          w.announced = true;
          fx.join(w);
          rebalance(now, fx); // the backoff is over: spawns that waited for it may start
        });
  }

  /** A spawned worker has been announced: it serves the first waiter, or goes idle. */
  Effects joined(PooledWorker w, long now) {
    return decide(
        fx -> {
          if (w.state != State.STARTING) {
            return; // it exited while it was announced, before it could join
          }
          if (closed) {
            retire(w, fx); // close() left it to be stopped here
            checkTerminated(fx);
            return;
          }
          offer(w, now, fx);
          rebalance(now, fx);
        });
  }

  /**
   * A spawn failed: back off, and fail the oldest waiter with the spawn's error. A prepared spawn
   * refused because the pool closed ends quietly: it is no failure of the worker.
   */
  Effects spawnFailed(PooledWorker w, Throwable error, long now) {
    return decide(
        fx -> {
          if (w.state == State.DEAD && w.refused) {
            return; // a prepared spawn no longer wanted: refused, and gone already
          }
          if (w.state != State.STARTING && w.state != State.PREPARING) {
            throw new IllegalStateException(w + " is not STARTING or PREPARING");
          }
          boolean refused = closed && w.state == State.PREPARING;
          moveTo(w, State.DEAD);
          if (refused) {
            checkTerminated(fx);
            return;
          }
          backoff.recordFailure(error, now);
          fx.spawnFailed(w, error);
          if (!closed) {
            Session waiter = pollQueue();
            if (waiter != null && waiter.end() != Session.ENDED) {
              finishPending(waiter, error, fx);
            }
          }
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  /** A worker's process has exited: expected if it was STOPPING, a crash otherwise. */
  Effects exited(PooledWorker w, WorkerExit exit, long now) {
    return decide(
        fx -> {
          switch (w.state) {
            case DEAD -> {
              return;
            }
            case PREPARING ->
                throw new IllegalStateException(w + " exited before its process could start");
            case STARTING -> {
              if (w.worker == null) {
                throw new IllegalStateException(w + " exited before its spawn completed");
              }
              crash(w, exit, now, fx); // spawned and announced, but it exited before it joined
            }
            case STOPPING -> {
              if (w.announced && !w.crashReported) {
                fx.workerEnded(w, exit, false);
              }
            }
            case SUSPENDING -> {
              w.exitWhileSuspending = exit; // expected: the suspension's outcome decides
              return;
            }
            case RESUMING -> crash(w, exit, now, fx); // resumed and watched, not yet confirmed
            case IDLE, BUSY, CHECKING -> crash(w, exit, now, fx);
          }
          moveTo(w, State.DEAD);
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  /** The answer of a periodic liveness probe. */
  Effects healthChecked(PooledWorker w, boolean healthy, long now) {
    return decide(
        fx -> {
          if (w.state != State.IDLE && w.state != State.BUSY) {
            return; // being checked, stopped or gone: this answer no longer matters
          }
          if (healthy) {
            w.healthFailures = 0;
            return;
          }
          if (++w.healthFailures < config.healthFailures()) {
            return;
          }
          crash(
              w,
              new WorkerExit(
                  OptionalInt.empty(),
                  false,
                  "failed " + w.healthFailures + " consecutive health checks"),
              now,
              fx);
          retire(w, fx);
          rebalance(now, fx);
        });
  }

  /** The answer of the health check of a worker freed by its session ({@code reuse}). */
  Effects recycleChecked(PooledWorker w, boolean healthy, long now) {
    return decide(
        fx -> {
          if (w.state != State.CHECKING) {
            return; // crashed or stopped meanwhile
          }
          if (w.draining) {
            retire(w, fx); // drained while it was being checked: it serves no one else
          } else if (healthy) {
            offer(w, now, fx);
          } else {
            crash(
                w,
                new WorkerExit(
                    OptionalInt.empty(), false, "failed its health check after a session"),
                now,
                fx);
            retire(w, fx);
          }
          rebalance(now, fx);
        });
  }

  /**
   * An operator drains the worker {@code workerId}: an idle one stops now (and is replaced as
   * {@code min} and {@code warm} require); a busy or checking one is marked, is handed no other
   * session, and stops once its session has finished. A stopping worker is left as it is.
   *
   * @param found set to whether a worker of that id has started and not exited
   */
  Effects drain(String workerId, boolean[] found, long now) {
    return decide(
        fx -> {
          PooledWorker w = null;
          for (PooledWorker candidate : workers) {
            if (candidate.worker != null && candidate.worker.id().equals(workerId)
                && candidate.state != State.STARTING) {
              w = candidate;
              break;
            }
          }
          found[0] = w != null;
          if (w == null) {
            return;
          }
          w.draining = true;
          if (w.state == State.IDLE) {
            retire(w, fx);
            rebalance(now, fx);
          } // BUSY: free() retires it; CHECKING: recycleChecked() does; STOPPING: on its way
        });
  }

  // ---------------------------------------------------------------- events: suspension

  /**
   * The idle timer parked {@code s} ({@link Session#parkIfIdle}): save its worker's state. Nothing
   * to do if an acquirer's {@link #wake} began the suspension already, or the session ended.
   */
  Effects suspend(Session s, long now) {
    return decide(
        fx -> {
          if (s.phase == Phase.ACTIVE && s.isParked() && !s.isEnded() && !closed) {
            beginSuspend(s, fx);
            rebalance(now, fx);
          }
        });
  }

  /**
   * An acquirer retained a parked session and waits for its worker. Its resume is decided once
   * (singleflight): whichever acquirer gets here first queues it, or, while the state is still
   * being saved, {@link #confirmSuspended} queues it when the save is done and announced; later
   * acquirers only get the future to wait on.
   *
   * @param out set to the future that completes with the resumed worker, or fails when the session
   *     ends first
   */
  Effects wake(Session s, long now, AtomicReference<CompletableFuture<PooledWorker>> out) {
    return decide(
        fx -> {
          switch (s.phase) {
            case ACTIVE -> {
              if (!s.isParked()) {
                out.set(CompletableFuture.completedFuture(s.worker)); // resumed meanwhile
                return;
              }
              out.set(wakeFuture(s));
              if (!s.isEnded() && !closed) {
                beginSuspend(s, fx); // parked by its timer, whose decision has not come yet
              }
            }
            case SUSPENDING, RESUME_QUEUED, RESUMING, RESTORED -> out.set(wakeFuture(s));
            case SUSPENDED -> {
              out.set(wakeFuture(s));
              if (!s.isEnded() && !closed && s.holders() > 0) {
                queueResume(s);
              }
            }
            case DONE -> out.set(
                s.wake != null ? s.wake : CompletableFuture.failedFuture(parkedEndError(s)));
            case NEW, QUEUED, ASSIGNED ->
                throw new IllegalStateException("waking " + s + ", which was never suspended");
          }
          rebalance(now, fx);
        });
  }

  /** Every acquirer of a session queued to resume gave up: it stays suspended, out of the queue. */
  Effects withdrawResume(Session s, long now) {
    return decide(
        fx -> {
          if (s.phase == Phase.RESUME_QUEUED && s.holders() == 0) {
            queue.remove(s);
            resumesQueued--;
            s.phase = Phase.SUSPENDED;
            rebalance(now, fx);
          }
        });
  }

  /**
   * A worker's state was saved and its process has gone: its slot is free, its session SUSPENDED
   * (and queued to resume at once if an acquirer already waits for it).
   *
   * @param exit how its process ended, as the listeners hear it ({@code workerStopped})
   */
  Effects suspended(
      Session s, PooledWorker w, SuspendedWorker state, WorkerExit exit, long now) {
    return decide(
        fx -> {
          requireState(w, State.SUSPENDING);
          moveTo(w, State.DEAD);
          if (s.pendingEnd != null) {
            fx.discard(state); // ended while it was being saved
            finishParked(s, s.pendingEnd, fx);
          } else {
            // Still SUSPENDING until sessionSuspended has been heard (confirmSuspended): an end
            // meanwhile waits, so that it is never reported before the suspension.
            s.suspendedSinceNanos = now; // before saved, which readers test first
            s.saved = state;
            savedSessions++;
            fx.suspended(s, w);
          }
          if (w.announced && !w.crashReported) {
            fx.workerEnded(w, exit, false);
          }
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  /**
   * The suspension of {@code s} has been announced ({@code sessionSuspended}). It is SUSPENDED from
   * now, and queued to resume at once if an acquirer already waits for it; unless it ended
   * meanwhile, which is carried out now, after the announcement.
   */
  Effects confirmSuspended(Session s, long now) {
    return decide(
        fx -> {
          if (s.phase != Phase.SUSPENDING || s.saved == null) {
            throw new IllegalStateException("confirming the suspension of " + s + ", not saved");
          }
          s.phase = Phase.SUSPENDED;
          if (s.pendingEnd != null) {
            finishParked(s, s.pendingEnd, fx); // discards the state
          } else if (!s.isEnded() && !closed && s.holders() > 0) {
            queueResume(s); // an acquirer came while it was being saved
          }
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  /** The state could not be saved: the worker is stopped (if it still runs), the session ends. */
  Effects suspendFailed(Session s, PooledWorker w, Throwable error, long now) {
    return decide(
        fx -> {
          requireState(w, State.SUSPENDING);
          if (w.exitWhileSuspending != null) {
            moveTo(w, State.DEAD);
            if (w.announced && !w.crashReported) {
              fx.workerEnded(w, w.exitWhileSuspending, false);
            }
          } else {
            retire(w, fx);
          }
          endParkedByFailure(s, SessionEndReason.SUSPEND_FAILED,
              new SessionEndedException(
                  "session '" + s.key + "' ended: its worker " + w.id
                      + " could not be suspended (" + error.getMessage()
                      + "); acquire again to start a new session"),
              now, fx);
        });
  }

  /**
   * A worker started from a session's saved state is ready. It is announced and its session
   * confirmed ({@link #confirmRestore}) before any lease is made on it; until then it stays
   * RESUMING, out of reach of health checks and hand-offs, like a spawned worker before it joins.
   */
  Effects resumed(PooledWorker w, Worker worker, long now) {
    return decide(
        fx -> {
          requireState(w, State.RESUMING);
          w.worker = worker;
          Session s = w.session;
          if (s.pendingEnd != null) {
            fx.watch(w);
            w.session = null;
            retire(w, fx); // ended (or the pool closed) while it resumed: never announced
            finishParked(s, s.pendingEnd, fx);
          } else {
            w.announced = true;
            s.phase = Phase.RESTORED;
            fx.restore(s, w); // announced, then watched, then confirmed
          }
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  /** The resume failed: the session ends ({@code RESUME_FAILED}) and its state is discarded. */
  Effects resumeFailed(PooledWorker w, SuspendedWorker state, Throwable error, long now) {
    return decide(
        fx -> {
          requireState(w, State.RESUMING);
          moveTo(w, State.DEAD);
          Session s = w.session;
          w.session = null;
          fx.discard(state);
          endParkedByFailure(s, SessionEndReason.RESUME_FAILED,
              new WorkerStartException(
                  "session '" + s.key + "' could not be resumed from its saved state (worker "
                      + w.id + "): " + error.getMessage()
                      + "; the session has ended, acquire again to start a new one",
                  error),
              now, fx);
        });
  }

  /**
   * Ends a parked session whose save or resume failed: for {@code reason}, and its waiting
   * acquirers fail with {@code error}, unless an end was already asked for (that end's reason
   * stands, and its waiters were told then).
   */
  private void endParkedByFailure(
      Session s, SessionEndReason reason, Throwable error, long now, Effects fx) {
    s.end();
    if (s.pendingEnd == null) {
      s.parkedEndError = error;
    }
    finishParked(s, s.pendingEnd != null ? s.pendingEnd : reason, fx);
    rebalance(now, fx);
    checkTerminated(fx);
  }

  /**
   * The resumed worker and its session have been announced ({@code workerStarted}, directory,
   * {@code sessionResumed}). The session is ACTIVE again and unparked, and its waiting acquirers
   * get leases; unless it ended or its worker died meanwhile, which is carried out now.
   */
  Effects confirmRestore(Session s, PooledWorker w, long now) {
    return decide(
        fx -> {
          if (s.phase != Phase.RESTORED) {
            throw new IllegalStateException("confirming the resume of " + s + ", not RESTORED");
          }
          s.assigned = w; // its last worker, which its end report names
          if (s.pendingEnd != null || w.state != State.RESUMING) {
            if (w.state == State.RESUMING) {
              w.session = null;
              retire(w, fx); // it holds the session's state: serves no other session
            }
            finishParked(s, s.pendingEnd != null ? s.pendingEnd : SessionEndReason.CRASHED, fx);
          } else {
            moveTo(w, State.BUSY);
            w.sessionsServed++;
            s.worker = w; // published before the unpark below: see Session
            s.phase = Phase.ACTIVE;
            parked.remove(s);
            s.unpark();
            if (!s.isEnded()) {
              CompletableFuture<PooledWorker> wake = s.wake;
              s.wake = null; // the next suspension has its own
              fx.wake(s, wake, w);
            } // else its ender is on its way to sessionEnded; the end report fails the wake
          }
          rebalance(now, fx);
          checkTerminated(fx);
        });
  }

  // ---------------------------------------------------------------- events: time and shutdown

  /** The maintenance tick: scale down, refill, and list the workers to probe. */
  Effects tick(long now) {
    return decide(
        fx -> {
          if (closed) {
            return;
          }
          retireSurplusIdle(now, fx);
          rebalance(now, fx);
          for (PooledWorker w : workers) {
            if (w.state == State.IDLE || w.state == State.BUSY) {
              fx.probe(w);
            }
          }
        });
  }

  /** The spawn backoff has run out. */
  Effects retryDue(long now) {
    return decide(
        fx -> {
          retryScheduled = false;
          rebalance(now, fx);
        });
  }

  /**
   * Refuses everything new, fails the queue, ends every session ({@code SHUTDOWN}) and stops every
   * worker; workers still starting are stopped when their spawn completes, or, if it has and they
   * are being announced, when they would have joined ({@link #joined}). {@link
   * Effects#terminated} is set by the decision in which the last worker goes.
   */
  Effects close(long now) {
    return decide(
        fx -> {
          if (closed) {
            return;
          }
          closed = true;
          for (Session s = pollQueue(); s != null; s = pollQueue()) {
            if (s.end() != Session.ENDED) {
              finishPending(s, closedError(), fx);
            }
          }
          for (PooledWorker w : new ArrayList<>(workers)) {
            switch (w.state) {
              case IDLE, CHECKING -> retire(w, fx);
              case BUSY -> {
                Session s = w.session;
                w.session = null;
                retire(w, fx);
                s.end();
                end(s, SessionEndReason.SHUTDOWN, true, now, fx);
              }
              case PREPARING -> fx.refuse(w, closedError()); // its spawn fails, starting nothing
              default -> {} // STARTING: stopped on arrival or on joining; STOPPING: on its way;
              // SUSPENDING, RESUMING: their sessions end below, and they stop when done
            }
          }
          for (Session s : new ArrayList<>(parked)) {
            s.end();
            end(s, SessionEndReason.SHUTDOWN, false, now, fx);
          }
          checkTerminated(fx);
        });
  }

  // ---------------------------------------------------------------- transitions (under lock)

  /**
   * Finishes the end of a session that has been moved to ENDED: the one place a session's end is
   * decided, whatever ended it.
   */
  private void end(Session s, SessionEndReason reason, boolean leasesOpen, long now, Effects fx) {
    switch (s.phase) {
      case NEW, QUEUED -> finishPending(s, endedError(s, reason), fx);
      case ASSIGNED -> {
        if (s.pendingEnd == null) {
          s.pendingEnd = reason; // being announced: confirm() carries it out
        }
      }
      case ACTIVE -> finishAnnounced(s, reason, leasesOpen, now, fx);
      case SUSPENDING, RESUMING, RESTORED -> {
        if (s.pendingEnd == null) {
          s.pendingEnd = reason; // carried out when the save or the resume completes
        }
      }
      case SUSPENDED, RESUME_QUEUED -> finishParked(s, reason, fx);
      case DONE -> {} // finished already, by whoever got here first
    }
  }

  /** A session that never got a worker: DONE, its acquirers fail with {@code error}. */
  private void finishPending(Session s, Throwable error, Effects fx) {
    queue.remove(s);
    s.phase = Phase.DONE;
    fx.fail(s, error);
  }

  /** An announced session ends: DONE, its worker freed (unless already gone), end reported. */
  private void finishAnnounced(
      Session s, SessionEndReason reason, boolean leasesOpen, long now, Effects fx) {
    s.phase = Phase.DONE;
    s.endReason = reason;
    PooledWorker w = s.assigned;
    if (w.session == s) {
      w.session = null;
      free(w, leasesOpen, now, fx);
    }
    fx.ended(s);
  }

  /**
   * A parked session ends: DONE, its saved state (if any) discarded, end reported. Its worker, if
   * it has one, has been dealt with by the caller.
   */
  private void finishParked(Session s, SessionEndReason reason, Effects fx) {
    if (s.phase == Phase.SUSPENDED || s.phase == Phase.RESUME_QUEUED) {
      savedSessions--;
    }
    if (s.phase == Phase.RESUME_QUEUED) {
      queue.remove(s);
      resumesQueued--;
    }
    SuspendedWorker state = s.saved;
    if (state != null) {
      s.saved = null;
      fx.discard(state);
    }
    parked.remove(s);
    s.phase = Phase.DONE;
    s.endReason = reason;
    fx.ended(s);
  }

  /** Parks {@code s}'s worker: it serves no lease from now, and its state is saved. */
  private void beginSuspend(Session s, Effects fx) {
    PooledWorker w = s.assigned;
    w.session = null;
    moveTo(w, State.SUSPENDING);
    s.phase = Phase.SUSPENDING;
    parked.add(s);
    fx.suspend(s, w);
  }

  private void queueResume(Session s) {
    s.phase = Phase.RESUME_QUEUED;
    queue.add(s);
    resumesQueued++;
  }

  /** The future a parked session's acquirers wait on, created by the first that asks. */
  private static CompletableFuture<PooledWorker> wakeFuture(Session s) {
    CompletableFuture<PooledWorker> f = s.wake;
    if (f == null) {
      f = new CompletableFuture<>();
      s.wake = f;
    }
    return f;
  }

  /** What acquirers of a parked session that ended are told. */
  static Throwable parkedEndError(Session s) {
    Throwable e = s.parkedEndError;
    if (e != null) {
      return e;
    }
    return new SessionEndedException(
        "session '" + s.key + "' ended (" + s.endReason + ") while it was suspended; acquire "
            + "again to start a new session");
  }

  /**
   * Starts the resumes that have a free slot, in queue order with the new sessions queued: a new
   * session ahead of a resume keeps the slot it will be spawned in. A resume cannot use an idle
   * worker, so at {@code max} spare idle workers are stopped to make room (idle workers exist only
   * when no new session waits).
   */
  private void startResumes(Effects fx) {
    if (resumesQueued == 0) {
      return;
    }
    int free = config.max() - processes();
    int coming = count(State.STARTING) + count(State.CHECKING);
    int blocked = 0;
    for (Iterator<Session> it = queue.iterator(); it.hasNext(); ) {
      Session s = it.next();
      if (s.phase == Phase.RESUME_QUEUED) {
        if (free > 0 && !s.isEnded()) {
          it.remove();
          resumesQueued--;
          startResume(s, fx);
          free--;
        } else if (!s.isEnded()) {
          blocked++;
        }
      } else if (!s.isEnded()) {
        if (coming > 0) {
          coming--;
        } else if (free > 0) {
          free--;
        }
      }
    }
    int freeing = count(State.STOPPING) + count(State.SUSPENDING);
    while (blocked > freeing && !idle.isEmpty()) {
      retire(idle.peekFirst(), fx);
      freeing++;
    }
  }

  private void startResume(Session s, Effects fx) {
    PooledWorker w = new PooledWorker("w-" + (++workerSequence));
    w.state = State.RESUMING;
    workers.add(w);
    counts[State.RESUMING.ordinal()]++;
    w.session = s;
    SuspendedWorker state = s.saved;
    s.saved = null;
    savedSessions--;
    s.phase = Phase.RESUMING;
    fx.resume(w, state);
  }

  /** Pins {@code w} to {@code s}. */
  private void handoff(PooledWorker w, Session s, Effects fx) {
    moveTo(w, State.BUSY);
    w.session = s;
    w.sessionsServed++;
    s.phase = Phase.ASSIGNED;
    s.assigned = w;
    fx.activate(s);
  }

  /**
   * A ready worker: to the first waiter, or to the idle set; or, with nobody waiting and more
   * workers than a lowered {@code max}, stopped.
   */
  private void offer(PooledWorker w, long now, Effects fx) {
    Session s = pollQueue();
    if (s != null) {
      handoff(w, s, fx);
    } else if (staying() > config.max()) {
      retire(w, fx);
    } else {
      moveTo(w, State.IDLE);
      w.idleSinceNanos = now;
    }
  }

  /** A worker whose session finished: check and reuse it, or stop it. */
  private void free(PooledWorker w, boolean leasesOpen, long now, Effects fx) {
    int perWorker = config.maxSessionsPerWorker();
    boolean reuse =
        !leasesOpen
            && !closed
            && !w.draining
            && staying() <= config.max() // else above a lowered max: let it go
            && config.reuse()
            && (perWorker == 0 || w.sessionsServed < perWorker);
    if (reuse) {
      moveTo(w, State.CHECKING);
      fx.check(w);
    } else {
      retire(w, fx);
    }
  }

  /** Stops a worker; it keeps counting against max until it has exited. */
  private void retire(PooledWorker w, Effects fx) {
    moveTo(w, State.STOPPING);
    fx.stop(w);
  }

  /**
   * The one crash path, for a live worker that exited on its own or failed a health check: reported
   * once, and its session ends CRASHED. The caller then moves the worker to DEAD or STOPPING.
   */
  private void crash(PooledWorker w, WorkerExit exit, long now, Effects fx) {
    if (!w.crashReported) {
      w.crashReported = true;
      if (w.announced) {
        fx.workerEnded(w, exit, true);
      }
    }
    Session s = w.session;
    if (s != null) {
      w.session = null; // the worker is gone: nothing to free
      s.end();
      end(s, SessionEndReason.CRASHED, true, now, fx);
    }
  }

  /**
   * Hands idle workers to waiters, evicts for waiters when allowed, and starts the spawns needed
   * for waiters, {@code min} and {@code warm}, within {@code max} and the spawn backoff.
   */
  private void rebalance(long now, Effects fx) {
    if (closed) {
      return;
    }
    for (PooledWorker w = idle.peekLast(); w != null; w = idle.peekLast()) {
      Session s = pollQueue();
      if (s == null) {
        break;
      }
      handoff(w, s, fx);
    }
    startResumes(fx);
    if (config.evictIdleOnPressure()) {
      evictForWaiters(now, fx);
    }
    int busy = count(State.BUSY);
    int checking = count(State.CHECKING);
    int needed = busy + checking + (queue.size() - resumesQueued) + config.warm();
    int target = Math.min(config.max(), Math.max(config.min(), needed));
    admitPrepared(target - (idle.size() + busy + checking + count(State.STARTING)), fx);
    int starting = count(State.STARTING);
    int serving = idle.size() + busy + checking + starting + preparing.size();
    int wanted = target - serving;
    if (wanted <= 0) {
      return;
    }
    // Now where a slot is free; else prepared, one per worker being stopped, to start the moment
    // that worker has exited.
    int missing = Math.max(0, Math.min(wanted, config.max() - processes()));
    int prepared = Math.max(0,
        Math.min(wanted - missing, count(State.STOPPING) - preparing.size()));
    if (missing == 0 && prepared == 0) {
      return;
    }
    long wait = backoff.remainingNanos(now);
    if (wait > 0) {
      if (!retryScheduled) {
        retryScheduled = true;
        fx.retryInNanos = wait;
      }
      return;
    }
    if (backoff.failing()) {
      missing = Math.min(missing, 1 - starting); // probe with one spawn while failing
      prepared = 0;
    }
    for (int i = 0; i < missing; i++) {
      startSpawn(fx);
    }
    for (int i = 0; i < prepared; i++) {
      startPrepared(fx);
    }
  }

  private void startSpawn(Effects fx) {
    PooledWorker w = new PooledWorker("w-" + (++workerSequence));
    workers.add(w);
    counts[State.STARTING.ordinal()]++;
    fx.spawn(w);
  }

  /**
   * Starts a spawn that may prepare but not start its process: every slot is taken, but a worker
   * is stopping, and its successor's preparation (sandbox, scratch directory, network) overlaps its
   * stop. It gets the first slot freed ({@link #admitPrepared}).
   */
  private void startPrepared(Effects fx) {
    PooledWorker w = new PooledWorker("w-" + (++workerSequence));
    w.state = State.PREPARING;
    w.mayStart = new CompletableFuture<>(); // completed by the runner, never under the lock
    workers.add(w);
    counts[State.PREPARING.ordinal()]++;
    preparing.addLast(w);
    fx.spawn(w);
  }

  /**
   * Gives free slots to prepared spawns, oldest first: they become STARTING, may fork. Those no
   * longer wanted (their waiters gave up or were served otherwise) are refused, newest first, so
   * that no process is started for nobody; their spawns end quietly ({@link #spawnFailed}).
   *
   * @param wanted workers still missing, not counting the prepared ones
   */
  private void admitPrepared(int wanted, Effects fx) {
    while (!preparing.isEmpty() && wanted > 0 && processes() < config.max()) {
      PooledWorker w = preparing.peekFirst();
      moveTo(w, State.STARTING);
      fx.admit(w);
      wanted--;
    }
    while (preparing.size() > Math.max(0, wanted)) {
      PooledWorker w = preparing.peekLast();
      w.refused = true;
      moveTo(w, State.DEAD);
      fx.refuse(w, new WorkerStartException("worker " + w.id + " is no longer needed"));
    }
  }

  /**
   * Ends least recently used idle sessions while sessions wait that nothing will serve.
   *
   * <p>A lease that closes does not take the lock: it drops its session's holder count, then reads
   * {@link #queuedGauge()} to decide whether to ask for this search again ({@code
   * LocalSessionPool.release}). So the queue is published here, before any holder count is read
   * (both volatile: Dekker's pattern). Either this search sees the count at zero, or that lease
   * sees the waiter and rebalances once this decision is over; otherwise the waiter would stay
   * queued beside an evictable session until the next maintenance tick.
   */
  private void evictForWaiters(long now, Effects fx) {
    if (uncoveredWaiters() <= 0) {
      return;
    }
    queuedGauge = queue.size();
    Set<Session> lostRace = null;
    while (uncoveredWaiters() > 0) {
      PooledWorker victim = null;
      for (PooledWorker w : workers) {
        if (w.state != State.BUSY) {
          continue;
        }
        Session s = w.session;
        if (s.phase != Phase.ACTIVE
            || s.holders() > 0
            || s.isEnded()
            || (lostRace != null && lostRace.contains(s))) {
          continue;
        }
        if (victim == null || s.lastReleaseNanos() - victim.session.lastReleaseNanos() < 0) {
          victim = w;
        }
      }
      if (victim == null) {
        return; // nothing evictable now; a lease that closes will rebalance again
      }
      Session s = victim.session;
      if (config.suspendAfter().isPresent()) {
        // Kinder than ending it: the session survives, saved, and only its process goes.
        if (s.parkIfIdle() || (s.isParked() && !s.isEnded())) {
          beginSuspend(s, fx);
          continue;
        }
      } else if (s.endIfIdle()) {
        end(s, SessionEndReason.EVICTED, false, now, fx);
        continue;
      }
      if (lostRace == null) {
        lostRace = new HashSet<>();
      }
      lostRace.add(s); // a lease or an end got there first; try the next one
    }
  }

  /** Idle workers beyond {@code warm} and {@code min}, idle for a TTL, stop. */
  private void retireSurplusIdle(long now, Effects fx) {
    while (idle.size() > config.warm()
        && idle.size() + count(State.BUSY) + count(State.CHECKING) > config.min()) {
      PooledWorker oldest = idle.peekFirst();
      if (now - oldest.idleSinceNanos < ttlNanos) {
        return;
      }
      retire(oldest, fx);
    }
  }

  /**
   * The oldest queued new session that has not ended, or null; ended ones are dropped on the way.
   * Sessions queued to resume are left in place: a ready worker is no use to them.
   */
  private Session pollQueue() {
    Iterator<Session> it = queue.iterator();
    while (it.hasNext()) {
      Session s = it.next();
      if (s.phase == Phase.RESUME_QUEUED) {
        continue;
      }
      it.remove();
      if (!s.isEnded()) {
        return s;
      } // else its ender is on its way to sessionEnded, which finishes it
    }
    return null;
  }

  /** Changes a worker's state and keeps the counts and the idle set in step. */
  private void moveTo(PooledWorker w, State to) {
    State from = w.state;
    if (from == to) {
      return;
    }
    counts[from.ordinal()]--;
    if (from == State.IDLE) {
      idle.remove(w);
    }
    if (from == State.PREPARING) {
      preparing.remove(w);
    }
    if (to == State.IDLE) {
      idle.addLast(w);
    }
    if (to == State.DEAD) {
      workers.remove(w);
    } else {
      counts[to.ordinal()]++;
    }
    w.state = to;
  }

  private void checkTerminated(Effects fx) {
    // A parked session whose worker has gone may still have its end to report (confirmSuspended,
    // confirmRestore): the pool terminates after that.
    if (closed && !terminated && workers.isEmpty() && parked.isEmpty()) {
      terminated = true;
      fx.terminated = true;
    }
  }

  /** Waiters beyond what starting, checking, stopping workers and free slots will serve. */
  private int uncoveredWaiters() {
    return queue.size() - (config.max() - idle.size() - count(State.BUSY) - count(State.RESUMING));
  }

  /**
   * Workers whose process exists or may be started any moment: all but the PREPARING ones, which
   * start nothing until a slot is free. At most {@code max} (invariant 5).
   */
  private int processes() {
    return workers.size() - preparing.size();
  }

  /** Workers that are not on their way out: above {@code max} only after it was lowered. */
  private int staying() {
    return workers.size() - count(State.STOPPING);
  }

  private int count(State s) {
    return counts[s.ordinal()];
  }

  private static void requireState(PooledWorker w, State expected) {
    if (w.state != expected) {
      throw new IllegalStateException(w + " is not " + expected);
    }
  }

  private void publishGauges() {
    idleGauge = idle.size();
    busyGauge = count(State.BUSY) + count(State.CHECKING);
    startingGauge = count(State.STARTING) + count(State.RESUMING) + count(State.PREPARING);
    stoppingGauge = count(State.STOPPING) + count(State.SUSPENDING);
    queuedGauge = queue.size();
    suspendedGauge = savedSessions;
  }

  // ---------------------------------------------------------------- errors

  private PoolClosedException closedError() {
    return new PoolClosedException("pool " + config.name() + " is closed");
  }

  private SessionEndedException endedError(Session s, SessionEndReason reason) {
    String why =
        switch (reason) {
          case RELEASED -> "was ended";
          case CRASHED -> "lost its worker, which exited";
          case SHUTDOWN -> "ended because the pool shut down";
          default -> "ended (" + reason + ")";
        };
    return new SessionEndedException(
        "session '" + s.key + "' " + why + " before a worker was assigned to it; acquire again "
            + "to start a new session");
  }

  private String queueFullMessage(String key) {
    return "pool "
        + config.name()
        + " is full: all "
        + config.max()
        + " workers busy or starting and "
        + queue.size()
        + " sessions already queued (pool.maxQueue="
        + config.maxQueue()
        + "); session '"
        + key
        + "' refused, retry later";
  }

  // ---------------------------------------------------------------- observation

  int idleGauge() {
    return idleGauge;
  }

  int busyGauge() {
    return busyGauge;
  }

  int startingGauge() {
    return startingGauge;
  }

  int stoppingGauge() {
    return stoppingGauge;
  }

  int queuedGauge() {
    return queuedGauge;
  }

  /** Sessions whose worker is saved and whose process has gone (SUSPENDED, RESUME_QUEUED). */
  int suspendedGauge() {
    return suspendedGauge;
  }

  /** The error of the last failed spawn since the last success, or null. */
  Throwable lastSpawnError() {
    lock.lock();
    try {
      return backoff.lastError();
    } finally {
      lock.unlock();
    }
  }

  /** Workers that have started and not exited, for admin APIs. */
  List<WorkerInfo> workerInfos() {
    List<WorkerInfo> out = new ArrayList<>();
    lock.lock();
    try {
      for (PooledWorker w : workers) {
        WorkerInfo.State state =
            switch (w.state) {
              case IDLE -> WorkerInfo.State.IDLE;
              case BUSY -> WorkerInfo.State.BUSY;
              case CHECKING -> WorkerInfo.State.CHECKING;
              case STOPPING, SUSPENDING -> WorkerInfo.State.STOPPING; // its process is going
              case PREPARING, STARTING, RESUMING, DEAD -> null;
            };
        if (state == null || w.worker == null) {
          continue;
        }
        Session s = w.session;
        out.add(
            new WorkerInfo(
                w.worker.id(),
                w.worker.pid(),
                w.worker.address(),
                state,
                s == null ? Optional.empty() : Optional.of(s.key),
                w.sessionsServed,
                w.draining));
      }
    } finally {
      lock.unlock();
    }
    return out;
  }

  /** A consistent copy of the guarded state, for tests that check the invariants. */
  Snapshot snapshot() {
    lock.lock();
    try {
      List<WorkerView> views = new ArrayList<>();
      for (PooledWorker w : workers) {
        Session s = w.session;
        views.add(
            new WorkerView(w, w.state, s, s == null ? null : s.phase, s == null ? null : s.assigned));
      }
      List<SessionView> queued = new ArrayList<>();
      for (Session s : queue) {
        queued.add(new SessionView(s, s.phase));
      }
      return new Snapshot(
          views, queued, idle.size(), count(State.BUSY), closed, terminated, retryScheduled);
    } finally {
      lock.unlock();
    }
  }

  /** One worker as the allocator sees it. */
  record WorkerView(
      PooledWorker worker,
      State state,
      Session session,
      Phase sessionPhase,
      PooledWorker sessionsWorker) {}

  /** One queued session as the allocator sees it. */
  record SessionView(Session session, Phase phase) {}

  /** The allocator's state at one instant. */
  record Snapshot(
      List<WorkerView> workers,
      List<SessionView> queue,
      int idle,
      int busy,
      boolean closed,
      boolean terminated,
      boolean retryScheduled) {}
}
