package io.herd.core.process;

import java.util.concurrent.CompletableFuture;

/**
 * What a {@link ProcessWorker} needs of the operating-system process that runs it (in practice
 * the worker's {@code herd-launch}, or the worker itself where there is no launcher): its pid, its
 * exit, the two ways to end it, and the end of its output. Two kinds: {@link SupervisedProcess}, a
 * child of the factory's {@link ProcessSupervisor} (the default: no thread per process), and
 * {@link JdkWorkerProcess}, a {@link Process} of the JVM's own (where {@code herd-launch} is not
 * available), with its two output pump threads and the JDK's exit-watcher thread.
 *
 * <p>Thread-safe. Lifetime: until {@link #onExit()} completes and its output has drained.
 */
interface WorkerProcess {

  /** The pid of the process the factory started. */
  long pid();

  /**
   * Completes once the process has exited and been reaped (then {@link #exitValue()} answers),
   * and any descendant this object knows of has been SIGKILLed. Its dependents run on a thread
   * that must not be held long: a process-exit thread of the JDK or of the supervisor.
   */
  CompletableFuture<?> onExit();

  /** Its exit code, or 128+N when signal N ended it; only after {@link #onExit()} completed. */
  int exitValue();

  /** Whether it has not exited yet. */
  boolean isAlive();

  /** SIGTERM: asks the worker to stop (a launcher forwards it to the worker). */
  void terminate();

  /** SIGKILL to the worker and to every process it started that can still be found. */
  void killTree();

  /** Completes when both output streams have ended and every line was passed on. */
  CompletableFuture<Void> outputDrained();
}
