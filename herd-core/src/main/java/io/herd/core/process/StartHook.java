package io.herd.core.process;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Work that must happen between "the worker's process started" and "the worker counts as
 * starting to be healthy": a microVM monitor restored from a snapshot, for example, listens but
 * runs nothing until it is told over its control socket to load the saved state and continue.
 * Given to {@link ProcessWorkerFactory#spawn(String, java.util.List, StartHook)}.
 *
 * <p>The factory calls {@link #started} once, on one of its own threads, right after the process
 * started; the call must not block (do the work elsewhere and complete the future from there).
 * Readiness probes begin only once the returned future completed normally. When it completes
 * exceptionally (or the call throws), the spawn fails with that cause's message and the process
 * tree is SIGKILLed; the start timeout ({@code worker.startTimeout}) covers the hook too, and a
 * process that exits meanwhile fails the spawn as usual, whatever the hook is doing.
 */
@FunctionalInterface
public interface StartHook {

  /** No extra work: probing begins at once, as for a plain spawn. */
  StartHook NONE = process -> CompletableFuture.completedFuture(null);

  /**
   * The process has started.
   *
   * @return completes when probing may begin; exceptionally to fail the spawn
   */
  CompletableFuture<Void> started(StartedProcess process);

  /**
   * What a hook knows of the process it runs for.
   *
   * @param workerId the id the worker will report
   * @param host the address the worker listens on (see {@link ProcessWorker#host()})
   * @param port the port picked for it
   * @param scratch its private scratch directory ({@code {{workdir}}})
   * @param pid the process the factory holds ({@code herd-launch} under a sandbox)
   */
  record StartedProcess(String workerId, InetAddress host, int port, Path scratch, long pid) {}
}
