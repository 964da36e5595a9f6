package io.herd.core;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * How a worker went away.
 *
 * @param exitCode the process exit code, when there was a process and it was known
 * @param requested whether the pool asked for it ({@link Worker#stop()}); {@code false} is a crash
 * @param detail a short human-readable cause, e.g. {@code "killed by signal 9"} or {@code "OOM_KILLED"}
 */
public record WorkerExit(OptionalInt exitCode, boolean requested, String detail) {

  /**
   * Leads {@link #detail()} when the kernel's OOM killer killed the worker for exceeding its
   * sandbox memory limit, e.g. {@code "OOM_KILLED: killed by signal 9"}.
   */
  public static final String OOM_KILLED = "OOM_KILLED";

  public WorkerExit {
    Objects.requireNonNull(exitCode, "exitCode");
    Objects.requireNonNull(detail, "detail");
  }

  /** A worker that exited on its own, i.e. crashed from the pool's point of view. */
  public static WorkerExit crashed(int exitCode, String detail) {
    return new WorkerExit(OptionalInt.of(exitCode), false, detail);
  }

  /** A worker that the pool stopped. */
  public static WorkerExit stopped(int exitCode) {
    return new WorkerExit(OptionalInt.of(exitCode), true, "stopped");
  }

  /** Whether the worker was killed for exceeding its memory limit ({@link #OOM_KILLED}). */
  public boolean oomKilled() {
    return detail.contains(OOM_KILLED);
  }

  @Override
  public String toString() {
    return exitCode.isPresent() ? detail + " (exit code " + exitCode.getAsInt() + ")" : detail;
  }
}
