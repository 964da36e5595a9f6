package io.herd.core.process;

import static io.herd.core.process.ProcessWorkerFactoryTest.client;
import static io.herd.core.process.ProcessWorkerFactoryTest.config;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.WorkerExit;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Stopping and crashing real worker processes, with the processes they started. */
class ProcessWorkerTest {

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void stopEverything() throws Exception {
    spawned.close();
  }

  @Test
  void stopEndsTheWorkerAndTheProcessesItStarted() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");
    long child = client(worker).spawnChild();
    assertThat(Processes.isAlive(child)).isTrue();

    WorkerExit exit = worker.stop().get(20, TimeUnit.SECONDS);

    assertThat(exit.requested()).isTrue();
    assertThat(exit.detail()).startsWith("stopped");
    assertThat(Processes.isAlive(worker.pid().getAsLong())).isFalse();
    assertThat(Processes.awaitGone(child, Duration.ofSeconds(2)))
        .as("the child left behind by the graceful exit was SIGKILLed")
        .isTrue();
  }

  @Test
  void stopIsIdempotentAndReturnsOnExit() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");

    CompletableFuture<WorkerExit> first = worker.stop();
    CompletableFuture<WorkerExit> second = worker.stop();

    assertThat(first).isSameAs(second).isSameAs(worker.onExit());
    assertThat(first.get(20, TimeUnit.SECONDS).requested()).isTrue();
    assertThat(worker.stop()).isSameAs(first);
  }

  @Test
  void workerIgnoringSigtermIsKilledWithItsChildAfterTheStopTimeout() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv("--ignore-sigterm"))
        .stopTimeout(Duration.ofMillis(700))
        .build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");
    long child = client(worker).spawnChild();

    long start = System.nanoTime();
    WorkerExit exit = worker.stop().get(20, TimeUnit.SECONDS);

    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("SIGKILL waits for the grace period")
        .isGreaterThanOrEqualTo(Duration.ofMillis(650));
    assertThat(exit.requested()).isTrue();
    assertThat(exit.exitCode()).hasValue(137);
    assertThat(exit.detail()).contains("killed by signal 9").contains("700 ms stop timeout");
    assertThat(Processes.awaitGone(child, Duration.ofSeconds(2))).isTrue();
  }

  @Test
  void workerKilledFromOutsideIsReportedAsACrash() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");

    ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().destroyForcibly();

    WorkerExit exit = worker.onExit().get(10, TimeUnit.SECONDS);
    assertThat(exit.requested()).as("nobody asked it to stop").isFalse();
    assertThat(exit.exitCode()).hasValue(137);
    assertThat(exit.detail()).isEqualTo("killed by signal 9");
    assertThat(worker.stop()).as("stop after a crash changes nothing").isSameAs(worker.onExit());
    assertThat(worker.stop().get().requested()).isFalse();
  }

  @Test
  void workerExitingOnItsOwnReportsItsExitCode() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");

    client(worker).exit(7);

    WorkerExit exit = worker.onExit().get(10, TimeUnit.SECONDS);
    assertThat(exit.requested()).isFalse();
    assertThat(exit.exitCode()).hasValue(7);
    assertThat(exit.detail()).isEqualTo("exited with code 7");
  }

  @Test
  void exitDetailNamesTheSignalForSignalExitCodes() {
    assertThat(ProcessWorker.describeExit(137)).isEqualTo("killed by signal 9");
    assertThat(ProcessWorker.describeExit(143)).isEqualTo("killed by signal 15");
    assertThat(ProcessWorker.describeExit(0)).isEqualTo("exited with code 0");
    assertThat(ProcessWorker.describeExit(128)).isEqualTo("exited with code 128");
    assertThat(ProcessWorker.describeExit(255)).isEqualTo("exited with code 255");
  }
}
