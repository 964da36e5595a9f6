package io.herd.core.process;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.sandbox.WorkerSandbox;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker that is a local operating-system process listening on {@code 127.0.0.1:<port>}, or
 * on its sandbox's address when it has a network namespace of its own. Created by {@link
 * ProcessWorkerFactory} the moment its process starts; handed to the pool only
 * once healthy.
 *
 * <p>Output: each stdout and stderr line goes to the loggers {@code io.herd.worker.stdout} and
 * {@code io.herd.worker.stderr}, tagged {@code [<id>]}, both at INFO. Stderr is not logged at
 * WARN because most runtimes (Python's logging, Go's log, Node's console.error, the JVM's own
 * messages) write ordinary logs there, and WARN would cry wolf; what matters for diagnosis is
 * kept anyway: the last {@value #STDERR_TAIL_LINES} stderr lines go into start-failure messages,
 * and the last lines of both streams, interleaved, are kept in {@link #output()} for {@code herd
 * logs --session}.
 * Both loggers sit under {@code io.herd.worker}, so one setting controls both.
 *
 * <p>Stopping ({@link #stop()}): the descendants are recorded first, since once the worker dies
 * its children are re-parented and can no longer be found; then SIGTERM; after {@code
 * worker.stopTimeout} SIGKILL to the worker and to every descendant recorded or still found.
 * Not first for a process that takes its tree down with it ({@code herd-launch}, see below):
 * recording is a scan of all of {@code /proc} (milliseconds, hundreds of them on a loaded host),
 * which would delay the SIGTERM of every stop, so there SIGTERM goes at once, and the scan
 * happens only if the grace period runs out.
 * Descendants left behind by a graceful exit are SIGKILLed too. A worker that crashes on its own
 * leaves orphans that cannot be found any more; that gap needs process groups or cgroups.
 *
 * <p>Sandbox ({@link WorkerSandbox}): the process (and {@link #pid()}) is {@code herd-launch},
 * not the worker. With a PID namespace it forwards SIGTERM to the namespace's init and that to
 * the worker; without one it forwards it to the worker, its child, and SIGKILLs what the worker
 * left once it exits (it is the child subreaper of the worker's tree). Either way it exits with
 * the worker's status (128+N when signal N ended it), so a stop is graceful and the exit detail
 * names the signal. SIGKILL of it takes the whole namespace down, or without one the worker
 * (its parent-death signal) while its recorded descendants are SIGKILLed here. After the exit, and
 * before {@link #onExit()} completes, the sandbox is asked why the worker died ({@code
 * OOM_KILLED} leads the exit detail); then {@link #onExit()} completes at once, so that the pool
 * frees the worker's slot the moment its process has gone, and the sandbox (cgroup, namespace,
 * scratch directory, leased UID) is released in the background, on its teardown thread ({@link
 * WorkerSandbox#releaseInBackground()}; {@link WorkerSandbox#released()} says when it is gone).
 * The factory's close waits for those releases.
 *
 * <p>Thread-safe: {@code stopRequested} flips once (compare-and-set) and {@code exit} completes
 * once, from the JDK's process-exit notification, which reads the flag; the descendant set only
 * grows. A crash racing with {@code stop()} is reported as requested, which is what the pool
 * wanted anyway. Lifetime: until {@link #onExit()} completes.
 */
public final class ProcessWorker implements Worker {

  /** Number of stderr lines kept for error messages. */
  static final int STDERR_TAIL_LINES = 20;

  private static final Logger log = LoggerFactory.getLogger(ProcessWorker.class);
  private static final Logger STDOUT = LoggerFactory.getLogger("io.herd.worker.stdout");
  private static final Logger STDERR = LoggerFactory.getLogger("io.herd.worker.stderr");

  private final String id;
  private final Process process;
  private final int port;
  private final InetAddress host;
  private final URI address;
  private final List<String> command;
  private final String healthPath;
  private final Duration stopTimeout;
  private final HttpHealthProbe probe;
  private final ScheduledExecutorService timer;
  private final WorkerSandbox sandbox;
  private final RecentLines stderrTail = new RecentLines(STDERR_TAIL_LINES);
  private final WorkerOutput output = new WorkerOutput();
  private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();
  private final AtomicBoolean stopRequested = new AtomicBoolean();
  /** Every descendant ever seen while stopping or killing; only grows. */
  private final Set<ProcessHandle> descendants = ConcurrentHashMap.newKeySet();
  /**
   * Whether the process kills everything the worker started when the worker ends ({@code
   * herd-launch}: a PID namespace's init, or a child subreaper that kills what is left): then
   * nothing needs recording before the SIGTERM of a stop.
   */
  private final boolean reapsItsTree;
  /** Set when the grace period ran out, before the SIGKILL. */
  private volatile boolean killedAfterGrace;
  private volatile ScheduledFuture<?> graceTimer;
  /**
   * Set when the exit handling begins, before it cancels {@link #graceTimer}. {@link #exit}
   * completes only at its end, after the sandbox was asked why the worker died and its release
   * queued, so a {@link #stop()} in between, e.g. of a worker dying of a signal of
   * its own just as its pool stops it, must see this flag, not {@code exit}, to cancel the grace
   * timer it scheduled: else that timer stays queued for the whole {@code stopTimeout}, and the
   * factory's close waits for it and warns "worker factory closed with 1 timer tasks pending".
   */
  private volatile boolean exitSeen;
  private volatile CompletableFuture<Void> outputDrained = CompletableFuture.completedFuture(null);

  private ProcessWorker(String id, Process process, int port, List<String> command,
      ProcessWorkerConfig config, HttpHealthProbe probe, ScheduledExecutorService timer,
      WorkerSandbox sandbox, boolean reapsItsTree) {
    this.reapsItsTree = reapsItsTree;
    this.id = id;
    this.process = process;
    this.port = port;
    this.sandbox = sandbox;
    this.host = sandbox.host();
    this.address = URI.create("http://" + host.getHostAddress() + ":" + port);
    this.command = List.copyOf(command);
    this.healthPath = config.healthPath();
    this.stopTimeout = config.stopTimeout();
    this.probe = probe;
    this.timer = timer;
  }

  /**
   * Wraps a just-started process: closes its stdin (a worker reading it sees end-of-file instead
   * of blocking), starts the output pumps and watches for its exit.
   *
   * @param sandbox what confines it, released after the exit
   * @param onGone called once, after {@link #onExit()} completed
   */
  static ProcessWorker start(String id, Process process, int port, List<String> command,
      ProcessWorkerConfig config, HttpHealthProbe probe, ScheduledExecutorService timer,
      WorkerSandbox sandbox, Consumer<ProcessWorker> onGone) {
    return start(id, process, port, command, config, probe, timer, sandbox, false, onGone);
  }

  /**
   * As {@link #start(String, Process, int, List, ProcessWorkerConfig, HttpHealthProbe,
   * ScheduledExecutorService, WorkerSandbox, Consumer)}, for a process that may take its tree
   * down with it.
   *
   * @param reapsItsTree whether the process kills everything the worker started when the worker
   *     ends ({@code herd-launch}), so that a stop signals it at once
   */
  static ProcessWorker start(String id, Process process, int port, List<String> command,
      ProcessWorkerConfig config, HttpHealthProbe probe, ScheduledExecutorService timer,
      WorkerSandbox sandbox, boolean reapsItsTree, Consumer<ProcessWorker> onGone) {
    ProcessWorker worker = new ProcessWorker(id, process, port, command, config, probe, timer,
        sandbox, reapsItsTree);
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // the worker may already have exited; its exit is handled below
    }
    OutputPump out = OutputPump.start("herd-" + id + "-stdout", process.getInputStream(),
        line -> {
          worker.output.add(WorkerOutput.Stream.STDOUT, line);
          STDOUT.info("[{}] {}", id, line);
        });
    OutputPump err = OutputPump.start("herd-" + id + "-stderr", process.getErrorStream(),
        line -> {
          worker.stderrTail.add(line);
          worker.output.add(WorkerOutput.Stream.STDERR, line);
          STDERR.info("[{}] {}", id, line);
        });
    worker.outputDrained = CompletableFuture.allOf(out.finished(), err.finished());
    process.onExit().whenComplete((p, e) -> {
      try {
        worker.exited();
      } finally {
        onGone.accept(worker);
      }
    });
    return worker;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public URI address() {
    return address;
  }

  @Override
  public OptionalLong pid() {
    return OptionalLong.of(process.pid());
  }

  /** The port the worker listens on, on {@link #host()}. */
  public int port() {
    return port;
  }

  /** The address the worker listens on: 127.0.0.1, or its own namespace's veth address. */
  public InetAddress host() {
    return host;
  }

  /** What confines the worker (and holds its scratch directory). */
  public WorkerSandbox sandbox() {
    return sandbox;
  }

  /**
   * The command it runs: placeholders replaced, the program resolved to its path; without the
   * launcher and its flags, so that it can be run by hand to reproduce a problem.
   */
  public List<String> command() {
    return command;
  }

  /** Completes as unhealthy at once after exit, or once the factory is closed. */
  @Override
  public CompletableFuture<Boolean> checkHealth(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (exit.isDone() || timeout.isNegative() || timeout.isZero()) {
      return CompletableFuture.completedFuture(false);
    }
    return probe.probe(host, port, healthPath, timeout).handle((r, e) -> e == null && r.healthy());
  }

  @Override
  public CompletableFuture<WorkerExit> onExit() {
    return exit;
  }

  /**
   * SIGTERM now, SIGKILL to the whole tree after {@code worker.stopTimeout}. If the factory was
   * closed already, its timer is gone and SIGKILL follows SIGTERM at once.
   */
  @Override
  public CompletableFuture<WorkerExit> stop() {
    if (stopRequested.compareAndSet(false, true) && !exit.isDone()) {
      if (!reapsItsTree) {
        recordDescendants(); // its children would be orphans, unfindable, once it has exited
      }
      process.destroy();
      try {
        graceTimer = timer.schedule(this::killIfAlive, stopTimeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        kill(); // the factory is closed: no timer for a grace period
      }
      if (exitSeen) {
        cancelGraceTimer(); // exited between the check above and the schedule
      }
    }
    return exit;
  }

  /**
   * SIGKILL to the worker and every descendant, now: for failed starts, JVM shutdown and a fenced
   * cluster gateway.
   */
  @Override
  public CompletableFuture<WorkerExit> kill() {
    stopRequested.set(true);
    recordDescendants();
    process.destroyForcibly();
    descendants.forEach(ProcessHandle::destroyForcibly);
    return exit;
  }

  /**
   * Its recent stdout and stderr lines, interleaved in arrival order and bounded (see {@link
   * WorkerOutput}); kept until the worker object is dropped, so still readable after the exit.
   */
  public WorkerOutput output() {
    return output;
  }

  /** The last {@value #STDERR_TAIL_LINES} stderr lines, oldest first. */
  @Override
  public List<String> recentStderr() {
    return stderrTail.snapshot();
  }

  /** The usage of its sandbox's memory cgroup, while it runs. */
  @Override
  public OptionalLong memoryBytes() {
    return exit.isDone() ? OptionalLong.empty() : sandbox.memoryCurrent();
  }

  /** Completes when both output streams have ended (usually just after the exit). */
  CompletableFuture<Void> outputDrained() {
    return outputDrained;
  }

  /** Whether the process is still running. */
  boolean isAlive() {
    return process.isAlive();
  }

  private void killIfAlive() {
    if (process.isAlive()) {
      killedAfterGrace = true;
      kill();
    }
  }

  private void recordDescendants() {
    process.descendants().forEach(descendants::add);
  }

  private void cancelGraceTimer() {
    ScheduledFuture<?> grace = graceTimer;
    if (grace != null) {
      grace.cancel(false);
    }
  }

  private void exited() {
    exitSeen = true; // before the cancel: a stop() that scheduled after it sees the flag
    cancelGraceTimer();
    // Leftovers of a graceful exit: re-parented by now, so only the recorded ones are known.
    descendants.forEach(ProcessHandle::destroyForcibly);
    int code = process.exitValue();
    boolean requested = stopRequested.get();
    String cause = "";
    try {
      cause = sandbox.exitCause().map(c -> c + ": ").orElse("");
      sandbox.releaseInBackground(); // queued before the exit is reported: a close waits for it
    } catch (RuntimeException e) { // a bug, but the exit must still be reported
      log.warn("cannot release the sandbox of worker {}: {}", id, e.toString(), e);
    }
    String detail;
    if (!requested) {
      detail = cause + describeExit(code);
    } else if (killedAfterGrace) {
      detail = "stopped: " + cause + describeExit(code) + " (SIGKILL after the "
          + stopTimeout.toMillis() + " ms stop timeout)";
    } else {
      detail = "stopped: " + cause + describeExit(code);
    }
    exit.complete(new WorkerExit(OptionalInt.of(code), requested, detail));
  }

  /**
   * {@code "killed by signal 9"} for 128+N, which is both what the JDK reports for a process
   * that signal N ended and what {@code herd-launch} exits with when signal N ended the worker;
   * {@code "exited with code N"} otherwise.
   */
  static String describeExit(int code) {
    if (code > 128 && code < 128 + 65) {
      return "killed by signal " + (code - 128);
    }
    return "exited with code " + code;
  }

  @Override
  public String toString() {
    return "ProcessWorker{" + id + ", pid " + process.pid() + ", " + address + "}";
  }
}
