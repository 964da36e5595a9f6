package io.herd.vm.qemu;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.process.ProcessWorker;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * A microVM worker: the QEMU process that runs it (a {@link ProcessWorker}, with everything a
 * process worker gets: sandbox, parent-death signal, output capture of the serial console, crash
 * detection, health checks through the forwarded port), and how it was started. Everything but
 * {@link #start()} and {@link #scratch()} is the process worker's.
 *
 * <p>Thread-safe; immutable apart from the process worker's own state. Lifetime: the process's.
 */
public final class VmWorker implements Worker {

  /** How a VM came to run. */
  public enum Start {
    /** Booted its kernel: the first VM of an image, or every VM without snapshots. */
    COLD,
    /** Restored copy-on-write from the template snapshot of its image. */
    CLONE,
    /** Restored from the saved state of a suspended VM. */
    RESUME
  }

  private static final int RECENT_LINES = 20;

  private final ProcessWorker process;
  private final Start start;

  VmWorker(ProcessWorker process, Start start) {
    this.process = process;
    this.start = start;
  }

  /** How this VM came to run. */
  public Start start() {
    return start;
  }

  /** The QEMU process worker (its pid is herd-launch's under a sandbox, QEMU's child). */
  public ProcessWorker process() {
    return process;
  }

  /** The QEMU process's scratch directory: where its QMP and control sockets are. */
  public Path scratch() {
    return process.sandbox().workdir().orElseThrow();
  }

  @Override
  public String id() {
    return process.id();
  }

  @Override
  public URI address() {
    return process.address();
  }

  @Override
  public OptionalLong pid() {
    return process.pid();
  }

  @Override
  public CompletableFuture<Boolean> checkHealth(Duration timeout) {
    return process.checkHealth(timeout);
  }

  @Override
  public CompletableFuture<WorkerExit> onExit() {
    return process.onExit();
  }

  /** SIGTERM to QEMU, which powers the guest off at once; SIGKILL after the stop timeout. */
  @Override
  public CompletableFuture<WorkerExit> stop() {
    return process.stop();
  }

  @Override
  public CompletableFuture<WorkerExit> kill() {
    return process.kill();
  }

  /**
   * The last lines of the guest's serial console and of QEMU's own errors, interleaved: the
   * console is QEMU's stdout, and it is what explains a guest's crash (a kernel panic, the
   * init's "app exited" line).
   */
  @Override
  public List<String> recentStderr() {
    return process.output().tail(RECENT_LINES).stream().map(line -> line.text()).toList();
  }

  @Override
  public OptionalLong memoryBytes() {
    return process.memoryBytes();
  }

  @Override
  public String toString() {
    return "VmWorker{" + process.id() + ", " + start.name().toLowerCase(java.util.Locale.ROOT)
        + ", pid " + process.pid().orElse(-1) + ", " + process.address() + "}";
  }
}
