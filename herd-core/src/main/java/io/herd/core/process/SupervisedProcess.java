package io.herd.core.process;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A worker's {@code herd-launch}, run by the factory's {@link ProcessSupervisor} rather than by
 * the JVM: its pid, exit and output come as events from the supervisor, and its signals go to it
 * as requests. The supervisor is its parent and reaps it only after reporting its exit, so a
 * signal sent by pid can never reach a process that reused the pid.
 *
 * <p>Ending it: {@link #terminate()} is SIGTERM to the launcher, which forwards it to the worker;
 * {@link #killTree()} has the launcher SIGKILL the worker and every process left in its tree (as
 * the child subreaper of that tree it finds all of them, daemons included), or, with a PID
 * namespace, ends the launcher, whose init's death takes the whole namespace down. No scan of
 * {@code /proc} here: the launcher knows its tree.
 *
 * <p>Thread-safety: the event methods ({@code started}, {@code output}, {@code closed}, {@code
 * exited}) are called by the supervisor's reader thread only, in the order the events came; the
 * futures complete on the supervisor's event executor; the rest may be called from any thread.
 * Lifetime: from the spawn request until its exit and the end of both its streams.
 */
final class SupervisedProcess implements WorkerProcess {

  private final ProcessSupervisor supervisor;
  private final int handle;
  private final Executor events;
  private final LineSplitter stdout;
  private final LineSplitter stderr;
  private final CompletableFuture<WorkerProcess> started = new CompletableFuture<>();
  private final CompletableFuture<Void> exit = new CompletableFuture<>();
  private final CompletableFuture<Void> drained = new CompletableFuture<>();
  private volatile long pid = -1;
  private volatile boolean exited;
  private volatile int exitCode;
  /** Reader thread only: the streams that ended. */
  private boolean stdoutClosed;
  private boolean stderrClosed;

  SupervisedProcess(ProcessSupervisor supervisor, int handle, Executor events, WorkerLines lines) {
    this.supervisor = supervisor;
    this.handle = handle;
    this.events = events;
    this.stdout = new LineSplitter(lines::stdout);
    this.stderr = new LineSplitter(lines::stderr);
  }

  /** The supervisor's number for it. */
  int handle() {
    return handle;
  }

  /** Completes once the supervisor forked it, or fails when it could not. */
  CompletableFuture<WorkerProcess> whenStarted() {
    return started;
  }

  @Override
  public long pid() {
    return pid;
  }

  @Override
  public CompletableFuture<?> onExit() {
    return exit;
  }

  @Override
  public int exitValue() {
    if (!exited) {
      throw new IllegalThreadStateException("process " + pid + " has not exited");
    }
    return exitCode;
  }

  @Override
  public boolean isAlive() {
    return !exited;
  }

  @Override
  public void terminate() {
    if (!exited) {
      supervisor.signal(handle, ProcessSupervisor.SIGNAL_TERM);
    }
  }

  @Override
  public void killTree() {
    if (!exited) {
      supervisor.signal(handle, ProcessSupervisor.SIGNAL_KILL_TREE);
    }
  }

  @Override
  public CompletableFuture<Void> outputDrained() {
    return drained;
  }

  // ------------------------------------------------------------ events, on the reader thread

  void started(long launcherPid) {
    pid = launcherPid;
    completeLater(started, this);
  }

  void failedToStart(Throwable why) {
    // Not on the reader thread: what depends on a failed start (sandbox release, the pool's next
    // decision, maybe another spawn's request to the supervisor) must not stall the reader, or
    // the supervisor, blocked writing output to it, would never read that request.
    try {
      events.execute(() -> started.completeExceptionally(why));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      started.completeExceptionally(why); // the supervisor is closed: nothing is read any more
    }
  }

  void output(boolean isStderr, byte[] bytes, int offset, int length) {
    (isStderr ? stderr : stdout).feed(bytes, offset, length);
  }

  /** That stream ended; returns whether this process is done (exited, both streams ended). */
  boolean closed(boolean isStderr) {
    if (isStderr && !stderrClosed) {
      stderrClosed = true;
      stderr.finish();
    } else if (!isStderr && !stdoutClosed) {
      stdoutClosed = true;
      stdout.finish();
    }
    if (stdoutClosed && stderrClosed) {
      completeLater(drained, null);
    }
    return isDone();
  }

  /** It exited with {@code code}; returns whether this process is done. */
  boolean exited(int code) {
    exitCode = code;
    exited = true;
    completeLater(exit, null);
    return isDone();
  }

  /** The supervisor is gone, and with it (their parent-death signals) every worker it ran. */
  void lost() {
    if (pid < 0) {
      failedToStart(new java.io.IOException("the process supervisor ended"));
      return;
    }
    closed(false);
    closed(true);
    if (!exited) {
      exited(128 + 9);
    }
  }

  private boolean isDone() {
    return exited && stdoutClosed && stderrClosed;
  }

  private <T> void completeLater(CompletableFuture<T> future, T value) {
    events.execute(() -> future.complete(value));
  }
}
