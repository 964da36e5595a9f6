package io.herd.core.testing;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * Test fixture: workers that are plain objects in this JVM, ready at once, all reporting the same
 * {@code address} and {@code pid}. Healthy until stopped; stopping completes their exit at once.
 * For tests of what sits on top of a pool (a gateway against a socket the test controls, an admin
 * API's snapshots) where no real process is wanted. Thread-safe; holds nothing to close.
 *
 * <p>Shipped to other modules' tests in herd-core's test-jar.
 */
public final class ObjectWorkerFactory implements WorkerFactory {

  private final URI address;
  private final OptionalLong pid;

  /**
   * @param address what every worker reports as its address
   * @param pid what every worker reports as its pid, if anything
   */
  public ObjectWorkerFactory(URI address, OptionalLong pid) {
    this.address = address;
    this.pid = pid;
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return CompletableFuture.completedFuture(new ObjectWorker(workerId));
  }

  private final class ObjectWorker implements Worker {
    private final String id;
    private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();

    ObjectWorker(String id) {
      this.id = id;
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
      return pid;
    }

    @Override
    public CompletableFuture<Boolean> checkHealth(Duration timeout) {
      return CompletableFuture.completedFuture(!exit.isDone());
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
