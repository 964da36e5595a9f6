package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.TestWorkerClient;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spawning real worker processes: readiness, ports, environment, working directory. */
class ProcessWorkerFactoryTest {

  private final SpawnedProcesses spawned = new SpawnedProcesses();

  @AfterEach
  void stopEverything() throws Exception {
    spawned.close();
  }

  @Test
  void spawnedWorkerIsHealthyAndServesFromItsOwnPid() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    assertThat(worker.id()).isEqualTo("w-1");
    assertThat(worker.address().toString()).isEqualTo("http://127.0.0.1:" + worker.port());
    assertThat(worker.checkHealth(Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isTrue();
    assertThat(client(worker).pid())
        .as("the pid answering on the worker's address is the worker's own: setpriv execs")
        .isEqualTo(worker.pid().getAsLong());
    assertThat(worker.onExit()).isNotDone();
  }

  @Test
  void goStylePortPlaceholderIsReplaced() throws Exception {
    List<String> argv = TestWorkerCommand.javaArgv();
    argv.addAll(List.of("--port", "{{.Port}}"));
    ProcessWorkerFactory factory = spawned.factory(config(argv).build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    assertThat(client(worker).pid()).isEqualTo(worker.pid().getAsLong());
  }

  @Test
  void portPlaceholderIsReplacedInsideAShellCommand() throws Exception {
    String java = TestWorkerCommand.javaArgv().stream()
        .map(arg -> "'" + arg + "'")
        .collect(Collectors.joining(" "));
    ProcessWorkerFactory factory =
        spawned.factory(config(List.of("sh", "-c", "exec " + java + " --port {{port}}")).build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    assertThat(client(worker).pid())
        .as("sh execs java, so the worker's pid is the server's")
        .isEqualTo(worker.pid().getAsLong());
  }

  @Test
  void portEnvironmentVariableAloneIsEnough() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.javaArgv()).build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    assertThat(client(worker).env("PORT")).isEqualTo(Integer.toString(worker.port()));
  }

  @Test
  void extraEnvironmentAndWorkingDirectoryAreApplied(@TempDir Path workdir) throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv())
        .env("GREETING", "hello from {{port}}")
        .env("PLAIN", "value")
        .workdir(workdir)
        .build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    TestWorkerClient client = client(worker);
    assertThat(client.env("GREETING")).isEqualTo("hello from " + worker.port());
    assertThat(client.env("PLAIN")).isEqualTo("value");
    assertThat(client.env("PATH")).as("the JVM's environment is inherited").isNotNull();
    assertThat(Path.of(client.cwd()).toRealPath()).isEqualTo(workdir.toRealPath());
  }

  @Test
  void concurrentSpawnsGetDistinctPortsAndProcesses() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    List<CompletableFuture<io.herd.core.Worker>> spawns = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      spawns.add(factory.spawn("w-" + i));
    }

    List<ProcessWorker> workers = new ArrayList<>();
    for (CompletableFuture<io.herd.core.Worker> spawn : spawns) {
      workers.add(spawned.track(spawn.get(30, TimeUnit.SECONDS)));
    }

    assertThat(workers).extracting(ProcessWorker::port).doesNotHaveDuplicates();
    for (ProcessWorker worker : workers) {
      assertThat(client(worker).pid()).isEqualTo(worker.pid().getAsLong());
    }
  }

  @Test
  void healthCheckReflectsTheWorkerState() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker unhealthy = spawned.spawn(factory, "w-1");
    ProcessWorker hanging = spawned.spawn(factory, "w-2");

    client(unhealthy).failHealth();
    client(hanging).hangHealth();

    assertThat(unhealthy.checkHealth(Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS)).isFalse();
    long start = System.nanoTime();
    assertThat(hanging.checkHealth(Duration.ofMillis(300)).get(5, TimeUnit.SECONDS))
        .as("a hanging worker is unhealthy once the timeout passes")
        .isFalse();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void healthCheckOfAnExitedWorkerIsFalseAtOnce() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");

    worker.stop().get(20, TimeUnit.SECONDS);

    assertThat(worker.checkHealth(Duration.ofSeconds(1))).isCompletedWithValue(false);
  }

  @Test
  void workerStillRunsAfterTheFactoryIsClosed() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-1");

    factory.close();

    assertThat(client(worker).pid()).isEqualTo(worker.pid().getAsLong());
    assertThat(worker.checkHealth(Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS))
        .as("health checks answer false once the probe is gone")
        .isFalse();
    assertThat(factory.spawn("w-2")).failsWithin(Duration.ofSeconds(5));
  }

  static ProcessWorkerConfig.Builder config(List<String> command) {
    return ProcessWorkerConfig.builder()
        .command(command)
        .startTimeout(Duration.ofSeconds(30))
        .stopTimeout(Duration.ofSeconds(5));
  }

  static TestWorkerClient client(ProcessWorker worker) {
    return new TestWorkerClient(worker.address());
  }
}
