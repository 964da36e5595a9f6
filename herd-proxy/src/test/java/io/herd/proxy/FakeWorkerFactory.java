package io.herd.proxy;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * Workers that are only an address: for failure tests where the "worker" is a socket the test
 * controls (nothing listening, a server that never answers, one that resets). Always healthy.
 */
final class FakeWorkerFactory implements WorkerFactory {

  private final URI address;

  FakeWorkerFactory(URI address) {
    this.address = address;
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return CompletableFuture.completedFuture(new FakeWorker(workerId, address));
  }

  private static final class FakeWorker implements Worker {
    private final String id;
    private final URI address;
    private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();

    FakeWorker(String id, URI address) {
      this.id = id;
      this.address = address;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public URI address() {
      return address;
    }

    @Override
    public OptionalLong pid() {
      return OptionalLong.empty();
    }

    @Override
    public CompletableFuture<Boolean> checkHealth(Duration timeout) {
      return CompletableFuture.completedFuture(true);
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
}
