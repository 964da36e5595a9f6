package io.herd.core.process;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.sandbox.WorkerSandbox;
import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
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
 * <p>Output: see {@link WorkerLines}: each line logged at INFO, the last {@value
 * #STDERR_TAIL_LINES} stderr lines for start-failure messages, both streams in {@link #output()}
 * for {@code herd logs --session}.
 *
 * <p>Process ({@link WorkerProcess}): a child of the factory's {@link ProcessSupervisor}, or,
 * where that cannot run, of the JVM. Stopping ({@link #stop()}): SIGTERM; after {@code
 * worker.stopTimeout} SIGKILL to the worker and every process left in its tree ({@link
 * WorkerProcess#killTree()}). Descendants left behind by a graceful exit are SIGKILLed too, by
 * the launcher (the child subreaper of the worker's tree).
 *
 * <p>Sandbox ({@link WorkerSandbox}): the process (and {@link #pid()}) is {@code herd-launch},
 * not the worker. With a PID namespace it forwards SIGTERM to the namespace's init and that to
 * the worker; without one it forwards it to the worker, its child, and SIGKILLs what the worker
 * left once it exits (it is the child subreaper of the worker's tree). Either way it exits with
 * the worker's status (128+N when signal N ended it), so a stop is graceful and the exit detail
 * names the signal. A kill takes the whole namespace down, or without one has the launcher
 * SIGKILL the worker's tree (see {@link WorkerProcess#killTree()}). After the exit, and
 * before {@link #onExit()} completes, the sandbox is asked why the worker died ({@code
 * OOM_KILLED} leads the exit detail); then {@link #onExit()} completes at once, so that the pool
 * frees the worker's slot the moment its process has gone, and the sandbox (cgroup, namespace,
 * scratch directory, leased UID) is released in the background, on its teardown thread ({@link
 * WorkerSandbox#releaseInBackground()}; {@link WorkerSandbox#released()} says when it is gone).
 * The factory's close waits for those releases.
 *
 * <p>Thread-safe: {@code stopRequested} flips once (compare-and-set) and {@code exit} completes
 * once, from the process's exit notification, which reads the flag. A crash racing with {@code
 * stop()} is reported as requested, which is what the pool
 * wanted anyway. Lifetime: until {@link #onExit()} completes.
 */
public final class ProcessWorker implements Worker {

  /** Number of stderr lines kept for error messages. */
  static final int STDERR_TAIL_LINES = WorkerLines.STDERR_TAIL_LINES;

  private static final Logger log = LoggerFactory.getLogger(ProcessWorker.class);

  private final String id;
  private final WorkerProcess process;
  private final WorkerLines lines;
  private final int port;
  private final InetAddress host;
  private final URI address;
  private final List<String> command;
  private final String healthPath;
  private final Duration stopTimeout;
  private final HttpHealthProbe probe;
  private final ScheduledExecutorService timer;
  private final WorkerSandbox sandbox;
  private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();
  private final AtomicBoolean stopRequested = new AtomicBoolean();
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

  private ProcessWorker(String id, WorkerProcess process, WorkerLines lines, int port,
      List<String> command, ProcessWorkerConfig config, HttpHealthProbe probe,
      ScheduledExecutorService timer, WorkerSandbox sandbox) {
    this.id = id;
    this.process = process;
    this.lines = lines;
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
   * Wraps a just-started process, whose output already goes to {@code lines}, and watches for its
   * exit.
   *
   * @param sandbox what confines it, released after the exit
   * @param onGone called once, after {@link #onExit()} completed
   */
  static ProcessWorker start(String id, WorkerProcess process, WorkerLines lines, int port,
      List<String> command, ProcessWorkerConfig config, HttpHealthProbe probe,
      ScheduledExecutorService timer, WorkerSandbox sandbox, Consumer<ProcessWorker> onGone) {
    ProcessWorker worker =
        new ProcessWorker(id, process, lines, port, command, config, probe, timer, sandbox);
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
      process.terminate();
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
    process.killTree();
    return exit;
  }

  /**
   * Its recent stdout and stderr lines, interleaved in arrival order and bounded (see {@link
   * WorkerOutput}); kept until the worker object is dropped, so still readable after the exit.
   */
  public WorkerOutput output() {
    return lines.output();
  }

  /** The last {@value #STDERR_TAIL_LINES} stderr lines, oldest first. */
  @Override
  public List<String> recentStderr() {
    return lines.recentStderr();
  }

  /** The usage of its sandbox's memory cgroup, while it runs. */
  @Override
  public OptionalLong memoryBytes() {
    return exit.isDone() ? OptionalLong.empty() : sandbox.memoryCurrent();
  }

  /** Completes when both output streams have ended (usually just after the exit). */
  CompletableFuture<Void> outputDrained() {
    return process.outputDrained();
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

  private void cancelGraceTimer() {
    ScheduledFuture<?> grace = graceTimer;
    if (grace != null) {
      grace.cancel(false);
    }
  }

  private void exited() {
    exitSeen = true; // before the cancel: a stop() that scheduled after it sees the flag
    cancelGraceTimer();
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
