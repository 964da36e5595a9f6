package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.testkit.StaticBinary;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many workers through one factory: the gateway's threads must not grow with their number (the
 * factory's process supervisor runs them), and stopping many stops them all at once: every worker
 * gets SIGTERM before the first has finished exiting, and those that ignore it are SIGKILLed
 * after the grace period. The workers are a tiny static C server (idle-worker.c), so that tens of
 * them fit on a busy test machine.
 */
class ProcessWorkerFactorySupervisionTest {

  private static final Path IDLE_WORKER = StaticBinary.compile("io/herd/core/process/idle-worker.c");

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void cleanUp() throws Exception {
    spawned.close();
  }

  @Test
  void theThreadCountDoesNotGrowWithTheNumberOfSupervisedWorkers() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config().build(), true);
    spawned.spawn(factory, "w-0"); // the supervisor, its reader and the probe threads exist now
    int before = liveThreads();

    spawnAll(factory, "w-", 1, 40);

    int after = liveThreads();
    assertThat(after - before)
        .as("threads added by 40 more workers (%d before, %d after)", before, after)
        .isLessThanOrEqualTo(8);
    assertThat(pumpThreads()).as("no output pump thread per worker").isZero();
  }

  @Test
  void withoutTheSupervisorEachWorkerCostsThreads() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config().build(), false);

    spawnAll(factory, "j-", 0, 5);

    assertThat(pumpThreads())
        .as("the fallback's two output pumps per worker: what the supervisor saves")
        .isEqualTo(10);
  }

  @Test
  void stoppingManyWorkersSignalsEveryOneBeforeTheFirstHasExited(@TempDir Path stamps)
      throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config()
        .env("STAMP_DIR", stamps.toString())
        .env("STOP_DELAY_MS", "1000")
        .stopTimeout(Duration.ofSeconds(30))
        .build(), true);
    List<ProcessWorker> workers = spawnAll(factory, "w-", 0, 20);

    List<CompletableFuture<WorkerExit>> exits = new ArrayList<>();
    for (ProcessWorker worker : workers) { // as the pool's close does: stop each, wait for none
      exits.add(worker.stop());
    }
    for (CompletableFuture<WorkerExit> exit : exits) {
      assertThat(exit.get(60, TimeUnit.SECONDS).detail()).isEqualTo("stopped: exited with code 0");
    }

    List<Long> terms = new ArrayList<>();
    List<Long> ends = new ArrayList<>();
    for (ProcessWorker worker : workers) {
      terms.add(stamp(stamps, worker.port(), "term"));
      ends.add(stamp(stamps, worker.port(), "exit"));
    }
    long lastTerm = terms.stream().mapToLong(Long::longValue).max().orElseThrow();
    long firstExit = ends.stream().mapToLong(Long::longValue).min().orElseThrow();
    assertThat(lastTerm)
        .as("the last worker got SIGTERM before the first one finished its 1 s exit")
        .isLessThanOrEqualTo(firstExit);
  }

  @Test
  void workersIgnoringSigtermAreKilledAfterTheGracePeriod() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config()
        .env("IGNORE_TERM", "1")
        .stopTimeout(Duration.ofMillis(500))
        .build(), true);
    List<ProcessWorker> workers = spawnAll(factory, "w-", 0, 5);

    List<CompletableFuture<WorkerExit>> exits = new ArrayList<>();
    for (ProcessWorker worker : workers) {
      exits.add(worker.stop());
    }
    for (CompletableFuture<WorkerExit> exit : exits) {
      assertThat(exit.get(60, TimeUnit.SECONDS).detail())
          .isEqualTo("stopped: killed by signal 9 (SIGKILL after the 500 ms stop timeout)");
    }
  }

  @Test
  void aSupervisorKilledFromOutsideTakesItsWorkersAlongAndTheNextSpawnStartsAnother()
      throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config().build(), true);
    ProcessWorker first = spawned.spawn(factory, "w-1");
    long supervisor = factory.supervisorPid().orElseThrow();

    ProcessHandle.of(supervisor).orElseThrow().destroyForcibly();

    assertThat(first.onExit().get(60, TimeUnit.SECONDS).detail())
        .isEqualTo("killed by signal 9");
    ProcessWorker second = spawned.spawn(factory, "w-2");
    assertThat(factory.supervisorPid().orElseThrow()).as("a new supervisor").isNotEqualTo(supervisor);
    assertThat(second.checkHealth(Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS)).isTrue();
  }

  private List<ProcessWorker> spawnAll(ProcessWorkerFactory factory, String prefix, int from,
      int count) throws Exception {
    List<CompletableFuture<Worker>> spawns = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      spawns.add(factory.spawn(prefix + i));
    }
    List<ProcessWorker> workers = new ArrayList<>();
    for (CompletableFuture<Worker> spawn : spawns) {
      workers.add(spawned.track(spawn.get(120, TimeUnit.SECONDS)));
    }
    return workers;
  }

  private static ProcessWorkerConfig.Builder config() {
    return ProcessWorkerFactoryTest.config(List.of(IDLE_WORKER.toString()))
        .startTimeout(Duration.ofSeconds(60));
  }

  private static long stamp(Path dir, int port, String what) throws Exception {
    return Long.parseLong(Files.readString(dir.resolve(port + "." + what)).trim());
  }

  private static int liveThreads() {
    return ManagementFactory.getThreadMXBean().getThreadCount();
  }

  /** The fallback's {@code herd-<worker id>-stdout} and {@code -stderr} threads. */
  private static long pumpThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(name -> name.matches("herd-[wj]-\\d+-std(out|err)"))
        .count();
  }
}
