package io.herd.core.process;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A worker process that is a direct child of the JVM ({@link Process}): the fallback where the
 * factory's {@link ProcessSupervisor} cannot run (no {@code herd-launch} for this host, or it
 * failed to start). It costs three threads while it runs: two {@link OutputPump}s and the JDK's
 * process-exit watcher.
 *
 * <p>Descendants: they are recorded whenever the process is asked to stop or is killed, since
 * once it dies its children are re-parented and can no longer be found; every one recorded is
 * SIGKILLed with a kill and after the exit (leftovers of a graceful stop). A process that crashes
 * on its own leaves orphans that cannot be found any more. (Started through {@code herd-launch},
 * the launcher itself kills what the worker leaves; this only matters for the setpriv fallback.)
 *
 * <p>Thread-safe: the descendant set only grows. Lifetime: until its exit.
 */
final class JdkWorkerProcess implements WorkerProcess {

  private final Process process;
  private final Set<ProcessHandle> descendants = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Void> exit;
  private final CompletableFuture<Void> outputDrained;

  private JdkWorkerProcess(Process process, WorkerLines lines, String id) {
    this.process = process;
    try {
      process.getOutputStream().close(); // a worker reading stdin sees end-of-file
    } catch (IOException e) {
      // it may already have exited; its exit is handled below
    }
    OutputPump out = OutputPump.start("herd-" + id + "-stdout", process.getInputStream(),
        lines::stdout);
    OutputPump err = OutputPump.start("herd-" + id + "-stderr", process.getErrorStream(),
        lines::stderr);
    this.outputDrained = CompletableFuture.allOf(out.finished(), err.finished());
    // Leftovers of a graceful exit: re-parented by now, so only the recorded ones are known.
    this.exit = process.onExit().handle((p, e) -> {
      descendants.forEach(ProcessHandle::destroyForcibly);
      return null;
    });
  }

  /** Wraps a just-started process of worker {@code id} and starts pumping its output. */
  static JdkWorkerProcess start(String id, Process process, WorkerLines lines) {
    return new JdkWorkerProcess(process, lines, id);
  }

  @Override
  public long pid() {
    return process.pid();
  }

  @Override
  public CompletableFuture<?> onExit() {
    return exit;
  }

  @Override
  public int exitValue() {
    return process.exitValue();
  }

  @Override
  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void terminate() {
    recordDescendants();
    process.destroy();
  }

  @Override
  public void killTree() {
    recordDescendants();
    process.destroyForcibly();
    descendants.forEach(ProcessHandle::destroyForcibly);
  }

  @Override
  public CompletableFuture<Void> outputDrained() {
    return outputDrained;
  }

  private void recordDescendants() {
    process.descendants().forEach(descendants::add);
  }
}
