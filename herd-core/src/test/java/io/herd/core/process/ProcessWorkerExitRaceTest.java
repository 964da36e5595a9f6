package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.sandbox.Sandbox;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.core.sandbox.WorkerSandbox;
import io.herd.testkit.Processes;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A worker that dies on its own (e.g. of a terminal's SIGINT) just as its pool stops it: the exit
 * handling has begun (it cancels the grace timer) but not finished (the sandbox is still being
 * released), and stop() schedules the grace timer in between. That timer must be cancelled too:
 * left queued for the whole stopTimeout, it made the factory's close wait and warn "worker
 * factory closed with 1 timer tasks pending" when the demo was stopped with Ctrl-C.
 */
class ProcessWorkerExitRaceTest {

  @Test
  void stopDuringTheExitHandlingLeavesNoGraceTimerQueued() throws Exception {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
    timer.setRemoveOnCancelPolicy(true);
    Sandbox sandbox = Sandbox.create(SandboxConfig.none());
    WorkerSandbox confinement = sandbox.prepare("w-race");
    Process real = new ProcessBuilder("true").start();
    assertThat(real.waitFor(20, TimeUnit.SECONDS)).isTrue();
    ExitingProcess process = new ExitingProcess(real);
    HttpHealthProbe probe = new HttpHealthProbe(Executors.defaultThreadFactory(), timer);
    try {
      ProcessWorkerConfig config = ProcessWorkerFactoryTest.config(List.of("true"))
          .stopTimeout(Duration.ofMinutes(5))
          .build();
      ProcessWorker worker = ProcessWorker.start("w-race", process, new WorkerLines("w-race"), 1,
          List.of("true"), config, probe, timer, confinement, w -> { });

      // The process exits on its own: the exit handling starts, and is held in exitValue().
      Thread exitThread = new Thread(() -> process.exit.complete(process), "exit-handling");
      exitThread.start();
      assertThat(process.inExitValue.await(20, TimeUnit.SECONDS)).isTrue();

      CompletableFuture<io.herd.core.WorkerExit> stopped = worker.stop(); // the pool's stop
      assertThat(stopped.isDone()).isFalse();
      process.finishExit.countDown();
      stopped.get(20, TimeUnit.SECONDS);
      exitThread.join(20_000);

      assertThat(timer.getQueue())
          .as("the grace timer scheduled while the exit was being handled was cancelled")
          .isEmpty();
    } finally {
      probe.close();
      timer.shutdownNow();
      confinement.release();
      sandbox.close();
      Processes.awaitGone(real.pid(), Duration.ofSeconds(5));
    }
  }

  /** A process that already exited, whose exit the test announces and holds at exitValue(). */
  private static final class ExitingProcess implements WorkerProcess {
    final Process real;
    final CompletableFuture<Object> exit = new CompletableFuture<>();
    final CountDownLatch inExitValue = new CountDownLatch(1);
    final CountDownLatch finishExit = new CountDownLatch(1);

    ExitingProcess(Process real) {
      this.real = real;
    }

    @Override
    public CompletableFuture<?> onExit() {
      return exit;
    }

    @Override
    public int exitValue() {
      inExitValue.countDown();
      try {
        finishExit.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return real.exitValue();
    }

    @Override
    public boolean isAlive() {
      return !exit.isDone();
    }

    @Override
    public long pid() {
      return real.pid();
    }

    @Override
    public void terminate() {
      // already gone
    }

    @Override
    public void killTree() {
      // already gone
    }

    @Override
    public CompletableFuture<Void> outputDrained() {
      return CompletableFuture.completedFuture(null);
    }
  }
}
