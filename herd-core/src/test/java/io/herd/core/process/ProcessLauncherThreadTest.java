package io.herd.core.process;

import static io.herd.core.process.ProcessWorkerFactoryStartFailureTest.failure;
import static io.herd.core.process.ProcessWorkerFactoryTest.client;
import static io.herd.core.process.ProcessWorkerFactoryTest.config;
import static io.herd.core.process.ProcessWorkerFactoryTest.workerPid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.Worker;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher thread must outlive every process it forked, whatever happens to launches and to
 * other threads, because its end would SIGKILL them all (parent-death signal).
 */
class ProcessLauncherThreadTest {

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void stopEverything() throws Exception {
    spawned.close();
  }

  @Test
  void failedLaunchLeavesTheThreadRunning() throws Exception {
    ProcessLauncherThread launcher = new ProcessLauncherThread();
    try {
      CompletableFuture<Process> bad = launcher.launch(new ProcessBuilder("/no/such/program"));
      assertThat(bad).failsWithin(Duration.ofSeconds(5))
          .withThrowableOfType(ExecutionException.class)
          .withCauseInstanceOf(IOException.class);

      Process good = launcher.launch(new ProcessBuilder("true")).get(5, TimeUnit.SECONDS);

      assertThat(good.waitFor(5, TimeUnit.SECONDS)).isTrue();
      assertThat(launcher.thread().isAlive()).isTrue();
    } finally {
      launcher.close();
    }
  }

  @Test
  void interruptingTheThreadDoesNotEndIt() throws Exception {
    ProcessLauncherThread launcher = new ProcessLauncherThread();
    try {
      launcher.thread().interrupt();

      Process process = launcher.launch(new ProcessBuilder("true")).get(5, TimeUnit.SECONDS);

      assertThat(process.waitFor(5, TimeUnit.SECONDS)).isTrue();
      assertThat(launcher.thread().isAlive()).isTrue();
    } finally {
      launcher.close();
    }
  }

  @Test
  void closedLauncherRefusesLaunchesButLingersUntilItsLastProcessExits() throws Exception {
    ProcessLauncherThread launcher = new ProcessLauncherThread();
    Process sleeper = launcher.launch(new ProcessBuilder("sleep", "30")).get(5, TimeUnit.SECONDS);
    try {
      launcher.close();

      assertThat(launcher.launch(new ProcessBuilder("true"))).isCompletedExceptionally();
      Thread.sleep(200);
      assertThat(launcher.thread().isAlive())
          .as("ending the thread now would SIGKILL the sleeper through its parent-death signal")
          .isTrue();
    } finally {
      sleeper.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    launcher.thread().join(5000);
    assertThat(launcher.thread().isAlive()).as("ends once its last process has exited").isFalse();
  }

  @Test
  void factoryLauncherSurvivesFailingStartsAndKeepsEarlierWorkersAlive(@TempDir Path dir)
      throws Exception {
    Path doomed = Files.createDirectory(dir.resolve("doomed"));
    ProcessWorkerFactory good = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker first = spawned.spawn(good, "w-1");
    Thread launcherThread = good.launcherThread();
    ProcessWorkerFactory missing =
        spawned.factory(config(List.of("no-such-herd-binary")).build());
    ProcessWorkerFactory noWorkdir =
        spawned.factory(config(TestWorkerCommand.argv()).workdir(doomed).build());
    Files.delete(doomed);

    assertThat(failure(missing.spawn("w-2"))).hasMessageContaining("not found");
    assertThat(failure(noWorkdir.spawn("w-3")))
        .as("ProcessBuilder.start() itself throws on the launcher thread")
        .hasMessageContaining("cannot start worker w-3")
        .hasMessageContaining(doomed.toString());
    ProcessWorker second = spawned.spawn(good, "w-4");

    assertThat(good.launcherThread()).isSameAs(launcherThread);
    assertThat(launcherThread.isAlive()).isTrue();
    assertThat(client(first).pid()).isEqualTo(workerPid(first));
    assertThat(client(second).pid()).isEqualTo(workerPid(second));
  }

  @Test
  void workerSurvivesTheEndOfTheThreadThatAskedForIt() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    AtomicReference<CompletableFuture<Worker>> spawn = new AtomicReference<>();
    Thread shortLived = new Thread(() -> spawn.set(factory.spawn("w-1")), "short-lived");
    shortLived.start();
    shortLived.join(5000);
    ProcessWorker worker = spawned.track(spawn.get().get(30, TimeUnit.SECONDS));

    assertThat(shortLived.isAlive()).isFalse();
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
        .until(() -> Processes.isAlive(worker.pid().getAsLong()));
    assertThat(client(worker).pid()).isEqualTo(workerPid(worker));
  }
}
