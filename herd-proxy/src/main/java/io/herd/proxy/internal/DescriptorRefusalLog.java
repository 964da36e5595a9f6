package io.herd.proxy.internal;

import io.herd.proxy.DescriptorRefusals;
import io.herd.proxy.FileDescriptors;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Counts the connections a gateway refuses for want of a file descriptor, and says so in the log
 * without a storm: the first refusal after a quiet period is logged at once, with what to do about
 * it; the ones after it are summed up in one line per {@link #INTERVAL} for as long as they go on;
 * an interval without any ends the period. A gateway past its limit may refuse thousands of
 * connections a second, and a line for each would bury everything else (and cost more than the
 * refusals).
 *
 * <p>Thread-safe: refusals come from every event loop. The counts are guarded by {@code this};
 * the lines are decided under the lock and written after it. Time comes from the injected {@link
 * Scheduler}, so tests run the intervals in virtual time. Lives as long as its gateway.
 */
public final class DescriptorRefusalLog {

  /** How often a summary line is written while refusals go on. */
  public static final Duration INTERVAL = Duration.ofSeconds(10);

  /** Where a refusal happened. */
  public enum Where {
    /** A new client connection, accepted on the spare descriptor to be answered 503. */
    ACCEPT,
    /** A connection to a worker or peer gateway, for a request then answered 503. */
    UPSTREAM
  }

  /** Runs a task once after a delay; the gateway's event loops in production. */
  @FunctionalInterface
  public interface Scheduler {
    void schedule(Runnable task, long delay, TimeUnit unit);
  }

  private final Scheduler scheduler;
  private final Consumer<String> sink;
  private final Supplier<FileDescriptors> descriptors;

  // Guarded by this.
  private long acceptTotal;
  private long upstreamTotal;
  private long acceptInWindow;
  private long upstreamInWindow;
  /** A summary is scheduled: refusals in this period are counted, not logged one by one. */
  private boolean windowOpen;

  /**
   * @param sink where the lines go (a WARN logger in production)
   * @param descriptors read for each line, to state the limit and how many are open
   */
  public DescriptorRefusalLog(Scheduler scheduler, Consumer<String> sink,
      Supplier<FileDescriptors> descriptors) {
    this.scheduler = scheduler;
    this.sink = sink;
    this.descriptors = descriptors;
  }

  /** Records one refusal; logs it when it starts a period. Any thread. */
  public void refused(Where where) {
    boolean first;
    synchronized (this) {
      if (where == Where.ACCEPT) {
        acceptTotal++;
      } else {
        upstreamTotal++;
      }
      first = !windowOpen;
      if (first) {
        windowOpen = true;
      } else if (where == Where.ACCEPT) {
        acceptInWindow++;
      } else {
        upstreamInWindow++;
      }
    }
    if (first) {
      sink.accept("refusing connections: too many open files (descriptor limit "
          + descriptors.get().describe() + "; a tunnel takes two, a request one per side); "
          + (where == Where.ACCEPT ? "a new client" : "a request whose worker connection")
          + " was answered 503. Raise the limit (LimitNOFILE= in the systemd unit, ulimit -n in"
          + " the shell that starts herd) or send this gateway fewer connections; refusals that"
          + " follow are counted every " + INTERVAL.toSeconds() + " s");
      scheduleSummary();
    }
  }

  private void scheduleSummary() {
    scheduler.schedule(this::summarize, INTERVAL.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Ends an interval: a line when it had refusals (and another interval), else the period. */
  private void summarize() {
    long accepts;
    long upstreams;
    synchronized (this) {
      accepts = acceptInWindow;
      upstreams = upstreamInWindow;
      acceptInWindow = 0;
      upstreamInWindow = 0;
      windowOpen = accepts + upstreams > 0;
    }
    if (accepts + upstreams == 0) {
      return;
    }
    sink.accept("refused " + (accepts + upstreams) + " connections in the last "
        + INTERVAL.toSeconds() + " s: too many open files (" + accepts + " new clients, "
        + upstreams + " worker connections; descriptor limit " + descriptors.get().describe()
        + "). Raise LimitNOFILE / ulimit -n or send this gateway fewer connections");
    scheduleSummary();
  }

  /** The refusals so far. */
  public synchronized DescriptorRefusals counts() {
    return new DescriptorRefusals(acceptTotal, upstreamTotal);
  }
}
