package io.herd.server;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/** Workers that are plain objects in this JVM: enough for the admin API's snapshots. */
public final class FakeWorkerFactory implements WorkerFactory {

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return CompletableFuture.completedFuture(new FakeWorker(workerId));
  }

  private static final class FakeWorker implements Worker {
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
      return URI.create("http://127.0.0.1:1");
    }

    @Override
    public OptionalLong pid() {
      return OptionalLong.of(4242);
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
      exit.complete(new WorkerExit(OptionalInt.of(0), true, "stopped"));
      return exit;
    }
  }
}
