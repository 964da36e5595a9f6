package io.herd.core.process;

import static io.herd.core.process.ProcessWorkerFactoryTest.config;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spawns that cannot succeed: each fails with a message that says what to fix, and none leaves a
 * process behind ({@link SpawnedProcesses#close()} checks after every test).
 */
class ProcessWorkerFactoryStartFailureTest {

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void stopEverything() throws Exception {
    spawned.close();
  }

  @Test
  void missingProgramFailsBeforeSpawningAndNamesTheFix() {
    ProcessWorkerFactory factory =
        spawned.factory(config(List.of("no-such-herd-binary", "--port", "{{port}}")).build());

    CompletableFuture<Worker> spawn = factory.spawn("w-1");

    assertThat(spawn).as("fails synchronously, nothing was started").isCompletedExceptionally();
    assertThat(failure(spawn))
        .isInstanceOf(WorkerStartException.class)
        .hasMessageContaining("w-1")
        .hasMessageContaining("'no-such-herd-binary' was not found on PATH=")
        .hasMessageContaining("install it, or set worker.command to its absolute path");
  }

  @Test
  void programThatIsNotExecutableFailsWithTheChmodFix(@TempDir Path dir) throws Exception {
    Path script = Files.writeString(dir.resolve("worker.sh"), "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
    ProcessWorkerFactory factory =
        spawned.factory(config(List.of("./worker.sh")).workdir(dir).build());

    assertThat(failure(factory.spawn("w-1")))
        .hasMessageContaining("'./worker.sh' is not executable")
        .hasMessageContaining("chmod +x " + script);
  }

  @Test
  void workerExitingAtStartFailsAtOnceWithExitCodeAndStderr() {
    ProcessWorkerFactory factory = spawned.factory(
        config(TestWorkerCommand.argv("--exit-at-start", "3"))
            .startTimeout(Duration.ofSeconds(60))
            .build());

    long start = System.nanoTime();
    Throwable error = failure(factory.spawn("w-1"));

    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("the exit is noticed at once, not after the 60 s start timeout")
        .isLessThan(Duration.ofSeconds(15));
    assertThat(error)
        .isInstanceOf(WorkerStartException.class)
        .hasMessageContaining("worker w-1 exited with code 3 while starting")
        .hasMessageContaining("io.herd.testkit.TestWorker")
        .hasMessageContaining("boom: bad config");
  }

  @Test
  void workerThatNeverGetsHealthyTimesOutWithTheLastProbeAndIsKilled() {
    ProcessWorkerFactory factory = spawned.factory(
        config(TestWorkerCommand.argv("--never-healthy"))
            .startTimeout(Duration.ofMillis(6000))
            .build());

    Throwable error = failure(factory.spawn("w-1"));

    assertThat(error)
        .isInstanceOf(WorkerStartException.class)
        .hasMessageContaining("worker w-1 was not healthy within the 6000 ms worker.startTimeout")
        .hasMessageMatching("(?s).*last probe of http://127\\.0\\.0\\.1:\\d+/health: HTTP 500.*")
        .hasMessageContaining("the process was killed");
    assertThat(descendants())
        .as("the failed spawn completes only once its process is gone")
        .isEmpty();
  }

  @Test
  void workerThatNeverListensTimesOutWithConnectionRefused() {
    ProcessWorkerFactory factory = spawned.factory(
        config(List.of("sleep", "30")).startTimeout(Duration.ofMillis(300)).build());

    assertThat(failure(factory.spawn("w-1")))
        .hasMessageMatching("(?s).*nothing listened on 127\\.0\\.0\\.1:\\d+ \\(last connect:"
            + " connection refused, \\d+ connects\\).*")
        .hasMessageContaining("$PORT");
    assertThat(descendants()).isEmpty();
  }

  /**
   * Many starts at once, most of which fail: each start that watched its port every millisecond
   * gave its slot back however it ended, so the next burst gets the fine interval again.
   */
  @Test
  void everyFineIntervalSlotIsGivenBackAfterABurstOfStartsThatFailAndSucceed() throws Exception {
    ProcessWorkerFactory failing = spawned.factory(
        config(List.of("sleep", "30")).startTimeout(Duration.ofMillis(300)).build());
    List<CompletableFuture<Worker>> spawns = new java.util.ArrayList<>();
    for (int i = 0; i < 3 * WorkerStartup.FINE_SLOTS; i++) {
      spawns.add(failing.spawn("w-" + i));
    }
    ProcessWorkerFactory exiting = spawned.factory(config(List.of("false")).build());
    List<CompletableFuture<Worker>> exits = new java.util.ArrayList<>();
    for (int i = 0; i < 3 * WorkerStartup.FINE_SLOTS; i++) {
      exits.add(exiting.spawn("x-" + i));
    }
    for (CompletableFuture<Worker> spawn : spawns) {
      assertThat(failure(spawn)).hasMessageContaining("nothing listened on");
    }
    for (CompletableFuture<Worker> spawn : exits) {
      assertThat(failure(spawn)).hasMessageContaining("exited with code 1 while starting");
    }
    ProcessWorkerFactory succeeding = spawned.factory(config(TestWorkerCommand.argv()).build());
    List<CompletableFuture<Worker>> ok = new java.util.ArrayList<>();
    for (int i = 0; i < WorkerStartup.FINE_SLOTS + 1; i++) {
      ok.add(succeeding.spawn("ok-" + i));
    }
    for (CompletableFuture<Worker> spawn : ok) {
      spawned.track(spawn.get(60, TimeUnit.SECONDS));
    }

    // A start's chain gives its slot back at its next check, at most 50 ms after its outcome.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(failing.fineSlotsAvailable()).isEqualTo(WorkerStartup.FINE_SLOTS);
      assertThat(exiting.fineSlotsAvailable()).isEqualTo(WorkerStartup.FINE_SLOTS);
      assertThat(succeeding.fineSlotsAvailable()).isEqualTo(WorkerStartup.FINE_SLOTS);
    });
  }

  @Test
  void workerThatListensAndThenDiesFailsWithItsExitCodeNotATimeout() {
    ProcessWorkerFactory factory = spawned.factory(
        config(TestWorkerCommand.argv("--never-healthy", "--exit-after", "300"))
            .startTimeout(Duration.ofSeconds(60))
            .build());

    assertThat(failure(factory.spawn("w-1")))
        .isInstanceOf(WorkerStartException.class)
        .hasMessageContaining("worker w-1 exited with code 4 while starting")
        .hasMessageContaining("exiting 300 ms after listening")
        .hasMessageNotContaining("worker.startTimeout");
    assertThat(descendants()).isEmpty();
  }

  @Test
  void cancellingASpawnKillsTheStartingProcess() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(
        config(TestWorkerCommand.argv("--start-delay", "20000")).build());

    CompletableFuture<Worker> spawn = factory.spawn("w-1");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> !descendants().isEmpty());
    spawn.cancel(false);

    assertThat(SpawnedProcesses.awaitNoWorkerProcesses(Duration.ofSeconds(5))).isEmpty();
  }

  @Test
  void closingTheFactoryFailsSpawnsInProgressAndKillsTheirProcesses() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(
        config(TestWorkerCommand.argv("--start-delay", "20000")).build());
    CompletableFuture<Worker> spawn = factory.spawn("w-1");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> !descendants().isEmpty());

    factory.close();

    assertThat(failure(spawn)).hasMessageContaining("the worker factory was closed");
    assertThat(SpawnedProcesses.awaitNoDescendants(Duration.ofSeconds(5))).isEmpty();
  }

  /** The workers and their launchers (not the factory's supervisor, which outlives them). */
  private static List<ProcessHandle> descendants() {
    return SpawnedProcesses.workerProcesses();
  }

  static Throwable failure(CompletableFuture<Worker> spawn) {
    try {
      Worker worker = spawn.get(30, TimeUnit.SECONDS);
      worker.stop();
      throw new AssertionError("spawn unexpectedly succeeded: " + worker);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("spawn neither failed nor succeeded in time", e);
    }
  }
}
