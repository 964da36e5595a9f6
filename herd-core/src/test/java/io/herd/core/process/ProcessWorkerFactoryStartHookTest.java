package io.herd.core.process;

import static io.herd.core.process.ProcessWorkerFactoryTest.config;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ProcessWorkerFactory#spawn(String, List, StartHook)}: a command of the spawn's own, the
 * {@code {{host}}} placeholder, and a hook that gates readiness and can fail the spawn.
 */
class ProcessWorkerFactoryStartHookTest {

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void stopEverything() throws Exception {
    spawned.close();
  }

  @Test
  void spawnIsNotReadyUntilTheHookCompletesAndTheHookSeesTheProcess() throws Exception {
    ProcessWorkerFactory factory =
        spawned.factory(config(List.of("false-the-configured-command-is-not-used")).build());
    CompletableFuture<Void> gate = new CompletableFuture<>();
    AtomicReference<StartHook.StartedProcess> seen = new AtomicReference<>();
    // sh drops its first argument, so {{host}} is only seen in the command line
    List<String> command = new java.util.ArrayList<>(
        List.of("sh", "-c", "shift; exec \"$@\"", "sh", "{{host}}"));
    command.addAll(TestWorkerCommand.javaArgv());
    command.addAll(List.of("--port", "{{port}}"));

    CompletableFuture<Worker> spawn = factory.spawn("w-hook", command, process -> {
      seen.set(process);
      return gate;
    });

    // the worker answers its health checks long before this; the spawn still waits for the gate
    for (int i = 0; i < 100 && seen.get() == null; i++) {
      Thread.sleep(50);
    }
    StartHook.StartedProcess process = seen.get();
    assertThat(process).as("the hook was called").isNotNull();
    assertThat(process.workerId()).isEqualTo("w-hook");
    assertThat(process.host().isLoopbackAddress()).isTrue();
    assertThat(Files.isDirectory(process.scratch())).as("the scratch directory exists").isTrue();
    assertThat(ProcessHandle.of(process.pid())).as("the process runs").isPresent();
    assertThat(new TestWorkerClient(process).pidWhenUp())
        .as("the worker serves already").isPositive();
    assertThat(spawn).as("not ready while the hook runs").isNotDone();

    gate.complete(null);
    ProcessWorker worker = spawned.track(spawn.get(30, TimeUnit.SECONDS));
    assertThat(worker.port()).isEqualTo(process.port());
    assertThat(worker.command()).as("the spawn's command, {{host}} replaced")
        .contains("127.0.0.1").doesNotContain("{{host}}");
  }

  @Test
  void failedHookFailsTheSpawnWithItsMessageAndKillsTheProcess() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    AtomicReference<Long> pid = new AtomicReference<>();

    CompletableFuture<Worker> spawn = factory.spawn("w-bad", TestWorkerCommand.argv(),
        process -> {
          pid.set(process.pid());
          return CompletableFuture.failedFuture(
              new IllegalStateException("cannot restore the snapshot: state file is empty"));
        });

    assertThat(spawn).failsWithin(Duration.ofSeconds(30))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(WorkerStartException.class)
        .withMessageContaining("w-bad")
        .withMessageContaining("cannot restore the snapshot: state file is empty");
    assertThat(ProcessHandle.of(pid.get()).map(ProcessHandle::isAlive).orElse(false))
        .as("the process is gone once the spawn failed").isFalse();
  }

  @Test
  void hookThatThrowsFailsTheSpawn() {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());

    CompletableFuture<Worker> spawn = factory.spawn("w-throws", TestWorkerCommand.argv(),
        process -> {
          throw new IllegalStateException("hook bug");
        });

    assertThat(spawn).failsWithin(Duration.ofSeconds(30))
        .withThrowableOfType(ExecutionException.class)
        .withMessageContaining("hook bug");
  }

  /** Reaches the worker by the hook's host and port, before the spawn has a worker to return. */
  private record TestWorkerClient(StartHook.StartedProcess process) {
    long pidWhenUp() throws InterruptedException {
      io.herd.testkit.TestWorkerClient client = new io.herd.testkit.TestWorkerClient(
          java.net.URI.create("http://127.0.0.1:" + process.port()));
      for (int i = 0; i < 300; i++) {
        try {
          return client.pid();
        } catch (RuntimeException e) {
          Thread.sleep(50);
        }
      }
      return -1;
    }
  }
}
