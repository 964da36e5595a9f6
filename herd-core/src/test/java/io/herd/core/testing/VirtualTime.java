package io.herd.core.testing;

import io.herd.core.Scheduler;
import io.herd.core.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture: a clock that moves only when the test says so, serving as both the {@link Ticker}
 * and the {@link Scheduler} of a pool:
 *
 * <pre>{@code
 * VirtualTime time = new VirtualTime();
 * SessionPool pool = SessionPool.builder(config, factory).ticker(time).scheduler(time).build();
 * time.advance(Duration.ofMinutes(5)); // every task due by then runs, in order, on this thread
 * }</pre>
 *
 * <p>{@link #advance} runs the due tasks one at a time in order of due time (ties in the order
 * they were scheduled), with the clock set to each task's due time while it runs; tasks scheduled
 * meanwhile run too if they fall due within the advance. Nothing runs on any other thread, so a
 * test that also completes its workers' futures on its own thread is entirely deterministic. A task
 * is never run by {@link #schedule} itself, even with no delay: it waits for the next {@link
 * #advance} or {@link #runDue}.
 *
 * <p>Thread-safe (other threads may schedule and read), but only one thread should advance it.
 * Starts at an arbitrary large reading, so that nothing can rely on time starting at zero.
 */
public final class VirtualTime implements Ticker, Scheduler {

  private final PriorityQueue<Entry> tasks = new PriorityQueue<>();
  private long now = 1_000_000_000_000L;
  private long sequence;

  private final class Entry implements Task, Comparable<Entry> {
    final long due;
    final long seq;
    final Runnable task;
    boolean cancelled;

    Entry(long due, long seq, Runnable task) {
      this.due = due;
      this.seq = seq;
      this.task = task;
    }

    @Override
    public boolean cancel() {
      synchronized (VirtualTime.this) {
        if (cancelled || !tasks.remove(this)) {
          return false;
        }
        cancelled = true;
        return true;
      }
    }

    @Override
    public int compareTo(Entry o) {
      int c = Long.compare(due, o.due);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }

  @Override
  public synchronized long read() {
    return now;
  }

  @Override
  public synchronized Task schedule(Runnable task, long delay, TimeUnit unit) {
    Entry e = new Entry(now + Math.max(0, unit.toNanos(delay)), sequence++, task);
    tasks.add(e);
    return e;
  }

  /** Moves the clock forward by {@code d}, running every task that falls due, in order. */
  public void advance(Duration d) {
    if (d.isNegative()) {
      throw new IllegalArgumentException("time does not go back: " + d);
    }
    long target;
    synchronized (this) {
      target = now + d.toNanos();
    }
    for (; ; ) {
      Entry next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > target) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.due);
      }
      next.task.run();
    }
  }

  /** Runs the tasks due now (those scheduled with no delay), without moving the clock. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** Tasks scheduled and not yet run or cancelled. */
  public synchronized int pendingTasks() {
    return tasks.size();
  }

  /** Due times of the pending tasks, relative to now, soonest first. */
  public synchronized List<Duration> pendingDelays() {
    List<Entry> sorted = new ArrayList<>(tasks);
    sorted.sort(null);
    List<Duration> out = new ArrayList<>();
    for (Entry e : sorted) {
      out.add(Duration.ofNanos(e.due - now));
    }
    return out;
  }

  /** Time elapsed since this clock was created. */
  public synchronized Duration elapsed() {
    return Duration.ofNanos(now - 1_000_000_000_000L);
  }
}
