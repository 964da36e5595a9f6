package io.herd.server.reload;

import io.herd.core.SessionPool;
import io.herd.core.process.ProcessWorkerFactory;
import java.util.Objects;

/**
 * The running objects of one pool that a reload changes: the pool (sizes, timings) and the
 * factory that starts its workers (command, environment, sandbox limits). Their own {@code
 * config()} is the configuration in force. Immutable.
 */
public record PoolRuntime(SessionPool pool, ProcessWorkerFactory factory) {

  public PoolRuntime {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(factory, "factory");
  }
}
