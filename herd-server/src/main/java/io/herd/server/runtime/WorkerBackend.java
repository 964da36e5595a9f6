package io.herd.server.runtime;

import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.WorkerOutput;
import java.util.Optional;

/**
 * How one pool's workers are made, as the server sees it: the {@link WorkerFactory} the pool
 * spawns with, plus what the admin API, reload and shutdown need from it beyond spawning — the
 * process settings in force, live reconfiguration where the kind of worker allows it, and a
 * worker's captured output. Two kinds: programs ({@link ProcessBackend}) and microVMs ({@link
 * VmBackend}), chosen by {@code worker.command} or {@code worker.vm}.
 *
 * <p>Thread-safe. Lifetime: from its pool's start to {@link #close()}, which its {@link
 * PoolRuntime} calls after the pool has stopped every worker.
 */
public interface WorkerBackend extends AutoCloseable {

  /** The factory the pool spawns with. */
  WorkerFactory factory();

  /**
   * The process settings in force: the program's, or a microVM's VMM's (health path, timeouts,
   * sandbox).
   */
  ProcessWorkerConfig config();

  /**
   * Whether {@link #reconfigure} takes new {@code worker.*} and {@code sandbox.*} settings for
   * workers started from then on; if not, a change of them waits for a restart.
   */
  boolean reconfigurable();

  /**
   * Starts new workers with {@code next}; workers already running keep theirs.
   *
   * @throws UnsupportedOperationException when not {@link #reconfigurable()}
   */
  void reconfigure(ProcessWorkerConfig next);

  /** The captured output of worker {@code workerId} (a VM's serial console), while known. */
  Optional<WorkerOutput> output(String workerId);

  /** Releases the factory; does not stop live workers (the pool has). */
  @Override
  void close();
}
