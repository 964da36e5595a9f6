package io.herd.proxy.internal;

import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The per-session concurrency limit: at most {@code limit} exchanges of one session run at once;
 * the next ones wait their turn in arrival order, at most {@code maxWaiting} of them.
 *
 * <p>Thread-safe. Design: one {@link Gate} per busy session in a concurrent map; every change to a
 * gate happens inside {@link ConcurrentHashMap#compute} for its key, which serialises them per key
 * without a global lock, and removes the gate once it is empty so idle sessions cost nothing. A
 * waiter's callback is run on its own executor (its connection's event loop), after compute
 * returns, so no callback runs under the map's bin lock.
 */
public final class SessionGates {

  /** The outcome of {@link #enter}. */
  public enum Admission {
    /** Run now; call {@link #exit} when done. */
    ADMITTED,
    /** Queued: {@code onTurn} will run; then call {@link #exit} when done. */
    QUEUED,
    /** The session's queue is full; do not call exit. */
    REJECTED
  }

  /** A queued exchange: what to run when its turn comes, and where. */
  public static final class Waiter {
    private final Runnable onTurn;
    private final Executor executor;

    public Waiter(Runnable onTurn, Executor executor) {
      this.onTurn = onTurn;
      this.executor = executor;
    }
  }

  private static final class Gate {
    int active;
    final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
  }

  private final int limit;
  private final int maxWaiting;
  private final ConcurrentHashMap<String, Gate> gates = new ConcurrentHashMap<>();

  /** {@code limit} 0 means unlimited: every enter is admitted and nothing is tracked. */
  public SessionGates(int limit, int maxWaiting) {
    this.limit = limit;
    this.maxWaiting = maxWaiting;
  }

  /** Whether a limit is set at all. */
  public boolean limited() {
    return limit > 0;
  }

  /** Asks for a turn for session {@code key}. */
  public Admission enter(String key, Waiter waiter) {
    if (limit == 0) {
      return Admission.ADMITTED;
    }
    Admission[] result = new Admission[1];
    gates.compute(key, (k, gate) -> {
      Gate g = gate == null ? new Gate() : gate;
      if (g.active < limit && g.waiting.isEmpty()) {
        g.active++;
        result[0] = Admission.ADMITTED;
      } else if (g.waiting.size() < maxWaiting) {
        g.waiting.addLast(waiter);
        result[0] = Admission.QUEUED;
      } else {
        result[0] = Admission.REJECTED;
      }
      return g.active == 0 && g.waiting.isEmpty() ? null : g;
    });
    return result[0];
  }

  /**
   * Withdraws a queued waiter (its client left or it waited too long).
   *
   * @return true if it was still waiting; false if its turn already came, so the caller owns a
   *     turn and must {@link #exit}
   */
  public boolean withdraw(String key, Waiter waiter) {
    if (limit == 0) {
      return false;
    }
    boolean[] removed = new boolean[1];
    gates.computeIfPresent(key, (k, g) -> {
      removed[0] = g.waiting.remove(waiter);
      return g.active == 0 && g.waiting.isEmpty() ? null : g;
    });
    return removed[0];
  }

  /** Ends a turn; hands it to the next waiter, if any. */
  public void exit(String key) {
    if (limit == 0) {
      return;
    }
    Waiter[] next = new Waiter[1];
    gates.computeIfPresent(key, (k, g) -> {
      next[0] = g.waiting.pollFirst();
      if (next[0] == null) {
        g.active--;
      }
      return g.active == 0 && g.waiting.isEmpty() ? null : g;
    });
    if (next[0] != null) {
      next[0].executor.execute(next[0].onTurn);
    }
  }

  /** Sessions with an exchange running or waiting; for tests and metrics. */
  public int busySessions() {
    return gates.size();
  }
}
