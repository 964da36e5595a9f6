package io.herd.core.process;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerStartException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's way from "process started" to "healthy", or to a {@link WorkerStartException}
 * that says why not. Lives from the process start until its result future completes (the
 * future that {@code spawn} returned).
 *
 * <p>Readiness, in two phases, once the spawn's {@link StartHook} completed (at once for a plain
 * spawn; a hook that fails ends the start like an abort, its message leading the error):
 *
 * <ol>
 *   <li><b>Listening.</b> A {@link ListeningPortCheck} (a non-blocking connect) at once, then
 *       every {@value #FINE_INTERVAL_MICROS} µs for the first {@value #FINE_WINDOW_MILLIS} ms after
 *       the launch, then with pauses doubling from 1 ms up to {@value #MAX_POLL_DELAY_MILLIS} ms,
 *       until the port accepts a connection. The fine interval is what lets a worker that listens
 *       at 20 ms be seen at 20-21 ms rather than at the next step of a doubling schedule (0, 1, 3,
 *       7, 15, 31 ms: at 31). Its cost is bounded: a refused connect is a few system calls on the
 *       timer thread (tens of microseconds with the JDK's socket objects, more on a busy host),
 *       the window ends {@value #FINE_WINDOW_MILLIS} ms after the launch (a slow starter, a JVM or
 *       a VM, then costs no more than before), and at most {@value #FINE_SLOTS} starts of one
 *       factory use the fine interval at once (the factory's {@code fineSlots}): during a burst
 *       of starts the others use the doubling schedule from the first check on.
 *   <li><b>Healthy.</b> Then {@code GET <health path>} at once, and again after 1 ms, doubling
 *       the pause up to {@value #MAX_POLL_DELAY_MILLIS} ms, until HTTP 200.
 * </ol>
 *
 * <p>No thread waits: each check and probe is asynchronous and the next one is a timer task. Three
 * things end the wait early: the process exits (fails at once, with its exit code and last stderr
 * lines), the start timeout (the process tree is SIGKILLed; the message says whether the port
 * was ever listened on), or the caller cancels the future / the factory closes (likewise).
 * A failure completes only after the process has exited, so a failed spawn leaves nothing behind.
 *
 * <p>Concurrency: {@code outcome} decides once, by compare-and-set, between "ready" and a
 * failure message; every path (probe, exit, timeout, cancel) goes through it, so exactly one
 * wins. The probe chain is sequential (each check or probe schedules the next), so {@code
 * nextDelayNanos}, {@code listenCheck} and {@code probes} are only touched by one task at a time,
 * handed over through the executors; the chain closes the check's socket when it sees the
 * outcome decided.
 */
final class WorkerStartup {

  /** Longest pause between two readiness probes. */
  static final long MAX_POLL_DELAY_MILLIS = 50;
  /** The pause between two listening checks during the start-up window. */
  static final long FINE_INTERVAL_MICROS = 1000;
  /** How long after the launch the listening checks keep the fine interval. */
  static final long FINE_WINDOW_MILLIS = 200;
  /** How many starts of one factory may use the fine interval at once. */
  static final int FINE_SLOTS = 4;

  private static final Logger log = LoggerFactory.getLogger(WorkerStartup.class);
  private static final long FIRST_POLL_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_POLL_DELAY_NANOS =
      TimeUnit.MILLISECONDS.toNanos(MAX_POLL_DELAY_MILLIS);
  private static final long FINE_INTERVAL_NANOS = TimeUnit.MICROSECONDS.toNanos(FINE_INTERVAL_MICROS);
  private static final long FINE_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(FINE_WINDOW_MILLIS);
  private static final long MAX_PROBE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** How long a failed start waits for the last stderr lines after the exit. */
  private static final long OUTPUT_GRACE_MILLIS = 500;
  private static final String READY = "ready";

  private final ProcessWorker worker;
  private final HttpHealthProbe probe;
  private final ScheduledExecutorService timer;
  private final String healthPath;
  private final Duration startTimeout;
  private final Times times;
  private final long startNanos;
  private final long deadlineNanos;
  private final CompletableFuture<Void> hookDone;
  private final CompletableFuture<Worker> result;
  private final AtomicReference<String> outcome = new AtomicReference<>();
  private volatile HttpHealthProbe.Result lastProbe =
      new HttpHealthProbe.Result(false, "no probe finished yet");
  private volatile ScheduledFuture<?> timeoutTask;
  private long nextDelayNanos = FIRST_POLL_DELAY_NANOS;
  /** Null once the port was found listening: then the chain probes HTTP. */
  private ListeningPortCheck listenCheck;
  /** The factory's permits to use the fine interval; see {@link #FINE_SLOTS}. */
  private final Semaphore fineSlots;
  /** Whether this start holds one of {@code fineSlots}; touched by the chain only. */
  private boolean fine;
  /** Whether the chain has asked for a slot yet; touched by the chain only. */
  private boolean askedForSlot;
  /** Written by the probe chain only; volatile because the timeout message reads them. */
  private volatile int probes;
  private volatile int connects;
  private volatile String lastConnect = "no connect attempt yet";
  private volatile boolean listened;
  /** When the port was first seen listening; written by the chain, read by {@link #ready()}. */
  private volatile long listeningNanos;

  /**
   * @param fineSlots the factory's permits for the fine interval, {@link #FINE_SLOTS} of them
   * @param times when the start began, its sandbox was ready, and its process was forked
   */
  WorkerStartup(ProcessWorker worker, ProcessWorkerConfig config, HttpHealthProbe probe,
      ScheduledExecutorService timer, Semaphore fineSlots, Times times,
      CompletableFuture<Void> hookDone, CompletableFuture<Worker> result) {
    this.worker = worker;
    this.fineSlots = fineSlots;
    this.hookDone = hookDone;
    this.result = result;
    this.probe = probe;
    this.timer = timer;
    this.healthPath = config.healthPath();
    this.startTimeout = config.startTimeout();
    this.times = times;
    this.startNanos = times.startNanos();
    this.deadlineNanos = startNanos + startTimeout.toNanos();
    this.listenCheck =
        new ListeningPortCheck(new InetSocketAddress(worker.host(), worker.port()));
  }

  /** Starts watching and probing; call once. */
  void begin() {
    result.whenComplete((w, e) -> {
      if (result.isCancelled()) {
        abort("the spawn was cancelled");
      }
    });
    worker.onExit().whenComplete((exit, e) -> exited(exit));
    try {
      timeoutTask = timer.schedule(
          this::timedOut, deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      abort("the worker factory is closed");
      return;
    }
    if (worker.onExit().isDone()) {
      cancelTimeout(); // exited before the schedule: exited() found no task to cancel
      return;
    }
    hookDone.whenComplete((v, e) -> {
      if (e == null) {
        poll();
      } else {
        Throwable cause = e instanceof java.util.concurrent.CompletionException
            && e.getCause() != null ? e.getCause() : e;
        abort(String.valueOf(cause.getMessage()));
      }
    });
  }

  /** Fails the start and SIGKILLs the process tree, unless the worker is ready already. */
  void abort(String reason) {
    if (outcome.compareAndSet(null, "worker " + worker.id() + " did not start: " + reason)) {
      worker.kill();
    }
  }

  private void poll() {
    if (outcome.get() != null) {
      closeListenCheck();
      return;
    }
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      closeListenCheck();
      return; // timedOut() decides
    }
    if (listenCheck != null && !checkListening()) {
      return;
    }
    Duration timeout = Duration.ofNanos(Math.min(remaining, MAX_PROBE_TIMEOUT_NANOS));
    probe.probe(worker.host(), worker.port(), healthPath, timeout)
        .whenComplete((r, e) -> probed(r));
  }

  /**
   * Phase one: whether the port listens now; if not, schedules the next check. Runs on the
   * chain.
   */
  private boolean checkListening() {
    ListeningPortCheck check = listenCheck;
    ListeningPortCheck.State state = check.check();
    connects = check.attempts();
    lastConnect = check.lastDetail();
    if (state == ListeningPortCheck.State.LISTENING) {
      listeningNanos = System.nanoTime();
      closeListenCheck();
      listened = true;
      return true;
    }
    if (!askedForSlot) {
      askedForSlot = true;
      fine = fineSlots.tryAcquire();
    }
    if (fine && System.nanoTime() - startNanos >= FINE_WINDOW_NANOS) {
      releaseFineSlot();
    }
    long delay;
    if (fine) {
      delay = FINE_INTERVAL_NANOS;
    } else {
      delay = nextDelayNanos;
      nextDelayNanos = Math.min(delay * 2, MAX_POLL_DELAY_NANOS);
    }
    schedulePoll(delay);
    return false;
  }

  /** Ends phase one: closes a connect in flight and gives the fine slot back. Chain only. */
  private void closeListenCheck() {
    releaseFineSlot();
    ListeningPortCheck check = listenCheck;
    if (check != null) {
      check.close();
      listenCheck = null;
      nextDelayNanos = FIRST_POLL_DELAY_NANOS; // the HTTP probes' pauses start afresh
    }
  }

  private void releaseFineSlot() {
    if (fine) {
      fine = false;
      fineSlots.release();
    }
  }

  private void schedulePoll(long delayNanos) {
    try {
      timer.schedule(this::poll, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      closeListenCheck();
      abort("the worker factory was closed");
    }
  }

  private void probed(HttpHealthProbe.Result probeResult) {
    probes = probes + 1; // one writer at a time: the chain is sequential
    lastProbe = probeResult;
    if (probeResult.healthy()) {
      ready();
      return;
    }
    long delay = nextDelayNanos;
    nextDelayNanos = Math.min(delay * 2, MAX_POLL_DELAY_NANOS);
    schedulePoll(delay);
  }

  private void ready() {
    if (!outcome.compareAndSet(null, READY)) {
      return;
    }
    cancelTimeout();
    if (!result.complete(worker)) {
      worker.kill(); // cancelled between the health answer and now: nobody will own it
      return;
    }
    if (log.isDebugEnabled()) {
      log.debug("worker {} ready in {} ms at {} (sandbox ready at {} ms, forked at {} ms,"
              + " listening at {} ms; pid {}, {} connects, {} probes)", worker.id(),
          elapsedMillis(), worker.address(), times.millisTo(times.launchNanos()),
          times.millisTo(times.forkedNanos()), times.millisTo(listeningNanos),
          worker.pid().orElse(-1), connects, probes);
    }
  }

  private void timedOut() {
    HttpHealthProbe.Result last = lastProbe;
    String found = listened
        ? "last probe of " + worker.address() + healthPath + ": " + last.detail() + " (" + probes
            + " probes)"
        : "nothing listened on " + worker.host().getHostAddress() + ":" + worker.port()
            + " (last connect: " + lastConnect + ", " + connects + " connects)";
    String message = "worker " + worker.id() + " was not healthy within the "
        + startTimeout.toMillis() + " ms worker.startTimeout: " + found + "; the process was"
        + " killed. Check that the program listens on " + worker.host().getHostAddress()
        + (worker.host().isLoopbackAddress() ? "" : " (or 0.0.0.0; $HOST has it)")
        + " at $PORT (or {{port}}) and answers 200"
        + " to GET " + healthPath + ". Command: " + worker.command()
        + stderrSection(worker.recentStderr());
    if (outcome.compareAndSet(null, message)) {
      worker.kill();
    }
  }

  private void exited(WorkerExit exit) {
    cancelTimeout();
    long elapsed = elapsedMillis();
    if (outcome.compareAndSet(null, "exited")) {
      // Crashed on its own: give the stderr pump a moment to pass on the last lines.
      CompletableFuture<Void> drained = new CompletableFuture<>();
      worker.outputDrained().whenComplete((v, e) -> drained.complete(null));
      try {
        timer.schedule(() -> drained.complete(null), OUTPUT_GRACE_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        drained.complete(null);
      }
      drained.thenRun(() -> result.completeExceptionally(new WorkerStartException(
          exitedMessage(exit, elapsed))));
    } else if (!READY.equals(outcome.get())) {
      result.completeExceptionally(new WorkerStartException(outcome.get()));
    }
    // else: it was ready, and the pool learns of the crash from onExit()
  }

  private String exitedMessage(WorkerExit exit, long elapsedMillis) {
    String how = exit.detail();
    if (exit.exitCode().isPresent() && how.startsWith("killed")) {
      how += " (exit code " + exit.exitCode().getAsInt() + ")";
    }
    return "worker " + worker.id() + " " + how + " while starting, after " + elapsedMillis
        + " ms. Command: " + worker.command() + stderrSection(worker.recentStderr());
  }

  private static String stderrSection(List<String> lines) {
    if (lines.isEmpty()) {
      return "\nNo stderr output.";
    }
    StringBuilder text = new StringBuilder("\nLast ").append(lines.size()).append(" stderr lines:");
    for (String line : lines) {
      text.append("\n  ").append(line);
    }
    return text.toString();
  }

  private void cancelTimeout() {
    ScheduledFuture<?> task = timeoutTask;
    if (task != null) {
      task.cancel(false);
    }
  }

  private long elapsedMillis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  /**
   * The milestones of a start before its readiness checks, from {@link System#nanoTime()}: for
   * the debug line that says where a cold start's time went.
   *
   * @param startNanos when the start began: the spawn call, or when a gated spawn's gate opened
   * @param launchNanos when its sandbox was prepared and the launch began
   * @param forkedNanos when the process supervisor (or the JVM) reported the process started
   */
  record Times(long startNanos, long launchNanos, long forkedNanos) {

    /** Milliseconds from the start to {@code nanos}, to one decimal; -1 for "not reached". */
    double millisTo(long nanos) {
      return nanos == 0 ? -1 : Math.round((nanos - startNanos) / 100_000.0) / 10.0;
    }
  }
}
