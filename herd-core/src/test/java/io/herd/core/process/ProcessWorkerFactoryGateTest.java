package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A spawn with a {@code mayStart} gate ({@link ProcessWorkerFactory#spawn(String,
 * CompletableFuture)}), as the pool asks for one while the worker whose slot it will take still
 * stops: the worker's sandbox is prepared at once, its process started only once the gate opens,
 * and a gate that fails fails the spawn with nothing left behind.
 */
class ProcessWorkerFactoryGateTest {

  @Test
  void preparesTheScratchDirectoryAtOnceButForksOnlyOnceTheGateOpens() throws Exception {
    try (SpawnedProcesses spawned = new SpawnedProcesses()) {
      ProcessWorkerFactory factory =
          spawned.factory(ProcessWorkerFactoryTest.config(TestWorkerCommand.argv()).build());
      CompletableFuture<Void> gate = new CompletableFuture<>();
      CompletableFuture<Worker> spawn = factory.spawn("gated-1", gate);

      Path scratch = awaitScratch(factory, "gated-1");
      assertThat(Processes.descendantsOf(ProcessHandle.current()))
          .as("no process before the gate opens, though the sandbox is prepared").isEmpty();
      assertThat(spawn).isNotDone();

      gate.complete(null);
      ProcessWorker worker = spawned.track(spawn.get(30, TimeUnit.SECONDS));
      assertThat(worker.sandbox().workdir()).contains(scratch);
      assertThat(worker.checkHealth(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void aGateThatFailsFailsTheSpawnAndReleasesWhatWasPrepared() throws Exception {
    try (SpawnedProcesses spawned = new SpawnedProcesses()) {
      ProcessWorkerFactory factory =
          spawned.factory(ProcessWorkerFactoryTest.config(TestWorkerCommand.argv()).build());
      CompletableFuture<Void> gate = new CompletableFuture<>();
      CompletableFuture<Worker> spawn = factory.spawn("gated-2", gate);
      Path scratch = awaitScratch(factory, "gated-2");

      gate.completeExceptionally(new IllegalStateException("the pool is closed"));

      assertThat(spawn).failsWithin(Duration.ofSeconds(30))
          .withThrowableOfType(ExecutionException.class)
          .havingCause()
          .isInstanceOf(WorkerStartException.class)
          .withMessageContaining("gated-2 was not started: the pool is closed");
      assertThat(scratch).as("the prepared scratch directory").doesNotExist();
      assertThat(Processes.descendantsOf(ProcessHandle.current())).isEmpty();
    }
  }

  /** Waits (bounded) for the scratch directory of {@code workerId} to be prepared. */
  private static Path awaitScratch(ProcessWorkerFactory factory, String workerId) {
    Path root = factory.config().sandbox().workdirRoot();
    return await().atMost(Duration.ofSeconds(30)).until(() -> find(root, workerId),
        Optional::isPresent).orElseThrow();
  }

  private static Optional<Path> find(Path root, String workerId) throws IOException {
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> dirs = Files.list(root)) {
      List<Path> found = dirs.filter(d -> d.getFileName().toString().endsWith("-" + workerId)
          && d.getFileName().toString().startsWith("herd-" + ProcessHandle.current().pid() + "-"))
          .toList();
      return found.stream().findFirst();
    }
  }
}
