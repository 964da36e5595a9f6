package io.herd.benchmarks;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link Worker} that is only an object: it is healthy until stopped and exits the moment it is
 * stopped, so benchmarks measure the pool and nothing behind it.
 *
 * <p>Thread-safe. Lifetime: alive from construction until {@link #stop()}.
 */
final class FakeWorker implements Worker {

  private static final URI ADDRESS = URI.create("http://127.0.0.1:9");
  private static final CompletableFuture<Boolean> HEALTHY = CompletableFuture.completedFuture(true);
  private static final CompletableFuture<Boolean> UNHEALTHY =
      CompletableFuture.completedFuture(false);

  private final String id;
  private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();

  FakeWorker(String id) {
    this.id = id;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public URI address() {
    return ADDRESS;
  }

  @Override
  public OptionalLong pid() {
    return OptionalLong.empty();
  }

  @Override
  public CompletableFuture<Boolean> checkHealth(Duration timeout) {
    return exit.isDone() ? UNHEALTHY : HEALTHY;
  }

  @Override
  public CompletableFuture<WorkerExit> onExit() {
    return exit;
  }

  @Override
  public CompletableFuture<WorkerExit> stop() {
    exit.complete(WorkerExit.stopped(0));
    return exit;
  }
}
