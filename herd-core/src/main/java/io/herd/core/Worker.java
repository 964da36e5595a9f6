package io.herd.core;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * One running backend that serves exactly one session at a time: a process, and later a container
 * or a microVM. The pool owns every worker it gets from a {@link WorkerFactory}; nothing else may
 * {@link #stop()} it.
 *
 * <p>Implementations must be thread-safe: the pool may call {@link #checkHealth} from its
 * maintenance thread while a proxy reads {@link #address()} from an event loop.
 *
 * <p>Lifetime: a worker is alive from the moment {@link WorkerFactory#spawn} completes until
 * {@link #onExit()} completes, which happens exactly once, whether the worker crashed or was
 * stopped.
 */
public interface Worker {

  /** Identifier unique within its pool and never reused, e.g. {@code w-17}. */
  String id();

  /** Where the proxy connects to reach this worker, e.g. {@code http://127.0.0.1:41234}. */
  URI address();

  /** Operating-system process id when the worker is a local process. */
  OptionalLong pid();

  /**
   * Probes the worker once. The future completes with {@code true} when it answered healthy
   * within {@code timeout}, {@code false} otherwise; it never completes exceptionally.
   */
  CompletableFuture<Boolean> checkHealth(Duration timeout);

  /** Completes exactly once, when the worker has gone, with how it went. */
  CompletableFuture<WorkerExit> onExit();

  /**
   * Stops the worker gracefully, then forcibly after its grace period, with everything it started.
   * Idempotent; the returned future is {@link #onExit()}.
   */
  CompletableFuture<WorkerExit> stop();

  /**
   * Stops the worker at once, without a grace period (SIGKILL for a process, with everything it
   * started), for a caller that must know the worker is gone by a deadline — a cluster gateway
   * that lost its lease must stop its workers before a peer may claim their sessions. Idempotent;
   * the returned future is {@link #onExit()}. The default is {@link #stop()}, for workers that
   * have no faster way.
   */
  default CompletableFuture<WorkerExit> kill() {
    return stop();
  }

  /**
   * The last lines the worker wrote to its error output, oldest first, for diagnosing a crash
   * (the admin dashboard shows them beside the crash). Empty for workers that keep none.
   */
  default List<String> recentStderr() {
    return List.of();
  }

  /**
   * The memory its confinement charges it right now, in bytes: a process's cgroup usage ({@code
   * memory.current}), when its sandbox has a memory cgroup; empty otherwise. May read a file:
   * call it off event loops.
   */
  default OptionalLong memoryBytes() {
    return OptionalLong.empty();
  }
}
