package io.herd.core.process;

import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.testkit.Processes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Test fixture that owns what one test starts (factories, workers) and guarantees that nothing
 * outlives the test: {@link #close()} stops every worker, closes every factory, then SIGKILLs any
 * process still descending from this JVM and fails the test if there was one. Thread-safe.
 */
final class SpawnedProcesses implements AutoCloseable {

  static final Duration SPAWN_TIMEOUT = Duration.ofSeconds(30);

  private final List<Worker> workers = new CopyOnWriteArrayList<>();
  private final List<WorkerFactory> factories = new CopyOnWriteArrayList<>();

  /** A factory for {@code config}, closed by {@link #close()}. */
  ProcessWorkerFactory factory(ProcessWorkerConfig config) {
    ProcessWorkerFactory factory = new ProcessWorkerFactory(config);
    factories.add(factory);
    return factory;
  }

  /**
   * A factory for {@code config} that starts workers as the JVM's own children ({@code
   * supervise} false) or through its process supervisor; closed by {@link #close()}.
   */
  ProcessWorkerFactory factory(ProcessWorkerConfig config, boolean supervise) {
    ProcessWorkerFactory factory =
        new ProcessWorkerFactory(config, ParentDeathSignal.detect(), supervise);
    factories.add(factory);
    return factory;
  }

  /** Spawns a worker and waits (bounded) until it is ready; stopped by {@link #close()}. */
  ProcessWorker spawn(WorkerFactory factory, String workerId) throws Exception {
    return track(factory.spawn(workerId).get(SPAWN_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
  }

  /** Stops {@code worker} in {@link #close()}. */
  ProcessWorker track(Worker worker) {
    workers.add(worker);
    return (ProcessWorker) worker;
  }

  /**
   * Stops, closes and checks, as the class comment says.
   *
   * @throws TimeoutException if the workers did not all exit within 30 s
   * @throws ExecutionException if a worker's exit future failed
   */
  @Override
  public void close() throws ExecutionException, TimeoutException {
    List<CompletableFuture<?>> exits = new ArrayList<>();
    for (Worker worker : workers) {
      exits.add(worker.stop());
    }
    try {
      CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while stopping workers", e);
    } finally {
      factories.forEach(WorkerFactory::close);
      List<ProcessHandle> leaked = awaitNoDescendants(Duration.ofSeconds(5));
      if (!leaked.isEmpty()) {
        leaked.forEach(ProcessHandle::destroyForcibly);
        throw new AssertionError("processes left behind by the test (now killed): "
            + leaked.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                .toList());
      }
    }
  }

  /**
   * The running descendants of this JVM but the factories' process supervisors ({@code
   * herd-launch --serve}), which live as long as their factory: the workers and their launchers.
   */
  static List<ProcessHandle> workerProcesses() {
    return Processes.descendantsOf(ProcessHandle.current()).stream()
        .filter(p -> !isSupervisor(p))
        .toList();
  }

  /** Whether {@code process} is a factory's {@code herd-launch --serve}. */
  static boolean isSupervisor(ProcessHandle process) {
    String[] arguments = process.info().arguments().orElse(new String[0]);
    return arguments.length > 0 && arguments[0].equals("--serve");
  }

  /** Waits up to {@code timeout} for {@link #workerProcesses()} to be empty; returns them. */
  static List<ProcessHandle> awaitNoWorkerProcesses(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<ProcessHandle> left = workerProcesses();
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      left = workerProcesses();
    }
    return left;
  }

  /** Waits up to {@code timeout} for this JVM to have no running descendants; returns them. */
  static List<ProcessHandle> awaitNoDescendants(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<ProcessHandle> left = Processes.descendantsOf(ProcessHandle.current());
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      left = Processes.descendantsOf(ProcessHandle.current());
    }
    return left;
  }
}
