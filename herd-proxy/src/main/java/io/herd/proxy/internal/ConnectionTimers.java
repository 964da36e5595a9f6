package io.herd.proxy.internal;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Ticker;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The deadlines of one client connection: at any moment at most one is armed, and its {@link
 * Kind} says what it guards, since the phases it guards never overlap. A client that owes the
 * gateway something (a request head, body bytes) or a worker that owes a response is always
 * bounded by one of them.
 *
 * <p>Time comes from the event loop's {@link Ticker}, and the expiry task is scheduled on the
 * loop, so a test drives a connection's timers in virtual time with {@code
 * EmbeddedChannel.advanceTimeBy}.
 *
 * <p>Why not a scheduled task per timeout: a keep-alive connection moves its deadline several
 * times per request, and scheduling and cancelling a task each time costs priority-queue work on
 * the event loop for every request. Here, like Netty's {@code IdleStateHandler}, at most one task
 * is pending: arming only records the new deadline unless it is earlier than the pending task;
 * when the task fires early it re-schedules itself for what is left.
 *
 * <p>Not thread-safe: confined to the connection's event loop. Lives as long as the connection;
 * {@link #cancel()} when it closes, so no task keeps the handler reachable.
 */
final class ConnectionTimers {

  /** What the armed deadline guards, and so what its expiry means. */
  enum Kind {
    /** A new connection's first request, or a request head that started: 408 (or a quiet close). */
    HEADER,
    /** A keep-alive connection between requests: closed quietly. */
    IDLE,
    /** A forwarded request whose client owes body bytes and sends none: 408. */
    BODY,
    /** A request sent to the worker, waiting for its response head: 504. */
    RESPONSE
  }

  private final EventLoop loop;
  private final Ticker ticker;
  private final Consumer<Kind> onExpiry;
  private final Runnable check = this::check;
  private Kind armed;
  private long deadlineNanos;
  private ScheduledFuture<?> task;
  private long taskAtNanos;

  ConnectionTimers(EventLoop loop, Consumer<Kind> onExpiry) {
    this.loop = loop;
    this.ticker = loop.ticker();
    this.onExpiry = onExpiry;
  }

  /** Arms {@code kind} to expire {@code after} from now, replacing whatever was armed. */
  void arm(Kind kind, Duration after) {
    armed = kind;
    deadlineNanos = ticker.nanoTime() + after.toNanos();
    if (task == null || taskAtNanos - deadlineNanos > 0) {
      if (task != null) {
        task.cancel(false);
      }
      scheduleAt(deadlineNanos);
    }
  }

  /** Disarms whatever is armed; the pending task, if any, fires and does nothing. */
  void disarm() {
    armed = null;
  }

  /** Disarms {@code kind} if it is the one armed. */
  void disarm(Kind kind) {
    if (armed == kind) {
      armed = null;
    }
  }

  /** Disarms and cancels the pending task: the connection is closing. */
  void cancel() {
    armed = null;
    if (task != null) {
      task.cancel(false);
      task = null;
    }
  }

  private void scheduleAt(long atNanos) {
    taskAtNanos = atNanos;
    task = loop.schedule(check, Math.max(0, atNanos - ticker.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void check() {
    task = null;
    Kind kind = armed;
    if (kind == null) {
      return;
    }
    if (deadlineNanos - ticker.nanoTime() > 0) {
      scheduleAt(deadlineNanos);
      return;
    }
    armed = null;
    onExpiry.accept(kind);
  }
}
