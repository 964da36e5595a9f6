package io.herd.server.runtime;

import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.process.WorkerOutput;
import java.util.Objects;
import java.util.Optional;

/**
 * Program workers ({@code worker.command}): herd-core's {@link ProcessWorkerFactory}, which takes
 * new settings live. Thread-safe, as the factory is.
 */
final class ProcessBackend implements WorkerBackend {

  private final ProcessWorkerFactory factory;

  ProcessBackend(ProcessWorkerConfig config) {
    this.factory = new ProcessWorkerFactory(Objects.requireNonNull(config, "config"));
  }

  @Override
  public WorkerFactory factory() {
    return factory;
  }

  @Override
  public ProcessWorkerConfig config() {
    return factory.config();
  }

  @Override
  public boolean reconfigurable() {
    return true;
  }

  @Override
  public void reconfigure(ProcessWorkerConfig next) {
    factory.reconfigure(next);
  }

  @Override
  public Optional<WorkerOutput> output(String workerId) {
    return factory.output(workerId);
  }

  @Override
  public void close() {
    factory.close();
  }
}
