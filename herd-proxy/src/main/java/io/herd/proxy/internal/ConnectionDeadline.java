package io.herd.proxy.internal;

import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One re-armable deadline per connection (header, idle or response timeout, one at a time).
 *
 * <p>Why not a scheduled task per timeout: a keep-alive connection moves its deadline two or three
 * times per request, and scheduling and cancelling a task each time costs priority-queue work on
 * the event loop for every request. Here, like Netty's {@code IdleStateHandler}, at most one task
 * is pending: arming only records the new deadline unless it is earlier than the pending task;
 * when the task fires early it re-schedules itself for what is left.
 *
 * <p>Not thread-safe: confined to the connection's event loop. Lives as long as the connection;
 * {@link #cancel()} when it closes, so no task keeps the handler reachable.
 */
final class ConnectionDeadline {

  private final EventLoop loop;
  private final Runnable onExpiry;
  private final Runnable check = this::check;
  private boolean armed;
  private long deadlineNanos;
  private ScheduledFuture<?> task;
  private long taskAtNanos;

  ConnectionDeadline(EventLoop loop, Runnable onExpiry) {
    this.loop = loop;
    this.onExpiry = onExpiry;
  }

  /** Expires {@code after} from now, replacing any earlier deadline. */
  void arm(Duration after) {
    armed = true;
    deadlineNanos = System.nanoTime() + after.toNanos();
    if (task == null || taskAtNanos - deadlineNanos > 0) {
      if (task != null) {
        task.cancel(false);
      }
      scheduleAt(deadlineNanos);
    }
  }

  /** No deadline until the next {@link #arm}; the pending task, if any, fires and does nothing. */
  void disarm() {
    armed = false;
  }

  /** Disarms and cancels the pending task: the connection is closing. */
  void cancel() {
    armed = false;
    if (task != null) {
      task.cancel(false);
      task = null;
    }
  }

  private void scheduleAt(long atNanos) {
    taskAtNanos = atNanos;
    task = loop.schedule(check, Math.max(0, atNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void check() {
    task = null;
    if (!armed) {
      return;
    }
    if (deadlineNanos - System.nanoTime() > 0) {
      scheduleAt(deadlineNanos);
      return;
    }
    armed = false;
    onExpiry.run();
  }
}
