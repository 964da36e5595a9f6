package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.sandbox.SandboxConfig;
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

  /** A variable surefire sets in this module's test JVM, standing for the gateway's secrets. */
  static final String SECRET = "HERD_TEST_GATEWAY_SECRET";

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
        .as("the pid answering on the worker's address is the one herd-launch forked")
        .isEqualTo(workerPid(worker));
    assertThat(worker.onExit()).isNotDone();
  }

  @Test
  void goStylePortPlaceholderIsReplaced() throws Exception {
    List<String> argv = TestWorkerCommand.javaArgv();
    argv.addAll(List.of("--port", "{{.Port}}"));
    ProcessWorkerFactory factory = spawned.factory(config(argv).build());

    ProcessWorker worker = spawned.spawn(factory, "w-1");

    assertThat(client(worker).pid()).isEqualTo(workerPid(worker));
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
        .isEqualTo(workerPid(worker));
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
    assertThat(client.env("PATH")).as("PATH is passed on").isEqualTo(System.getenv("PATH"));
    assertThat(Path.of(client.cwd()).toRealPath()).isEqualTo(workdir.toRealPath());
  }

  /**
   * Issue 13: the gateway's secrets (here {@value #SECRET}, set by surefire for this module)
   * reached every worker, which inherited the JVM's whole environment.
   */
  @Test
  void workerEnvironmentHoldsOnlyWhatTheGatewayDefinesNotTheGatewaysSecrets() throws Exception {
    assertThat(System.getenv(SECRET)).as("surefire sets it for this test").isNotNull();
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv())
        .env("EXTRA", "{{workdir}}/x")
        .build());

    ProcessWorker worker = spawned.spawn(factory, "w-env");

    String env = client(worker).get("/env-all").body();
    Path scratch = worker.sandbox().workdir().orElseThrow();
    assertThat(env.lines().map(line -> line.substring(0, line.indexOf('='))))
        .as("the whole environment of the worker")
        .isSubsetOf("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "PORT", "HERD_WORKER_ID",
            "HERD_WORKDIR", "EXTRA")
        .contains("PATH", "HOME", "TMPDIR", "PORT", "HERD_WORKER_ID", "HERD_WORKDIR", "EXTRA");
    assertThat(env).doesNotContain("not-for-workers")
        .contains("HOME=" + scratch + "\n", "HERD_WORKDIR=" + scratch + "\n",
            "TMPDIR=" + scratch.resolve("tmp") + "\n", "HERD_WORKER_ID=w-env\n",
            "PORT=" + worker.port() + "\n", "EXTRA=" + scratch + "/x\n");
  }

  @Test
  void workersWithoutASandboxAreStillStartedByTheLauncherInASessionOfTheirOwn() throws Exception {
    assertThat(io.herd.core.sandbox.LauncherBinary.detect().path()).isPresent();
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());

    ProcessWorker worker = spawned.spawn(factory, "w-session");

    long pid = worker.pid().getAsLong();
    String stat = java.nio.file.Files.readString(Path.of("/proc", pid + "", "stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    assertThat(fields[3]).as("session id = its own pid (setsid), not the gateway's session")
        .isEqualTo(Long.toString(pid));
    long server = workerPid(worker);
    String serverStat = java.nio.file.Files.readString(Path.of("/proc", server + "", "stat"));
    assertThat(serverStat.substring(serverStat.lastIndexOf(')') + 2).split(" ")[3])
        .as("the worker below herd-launch: a session of its own too")
        .isEqualTo(Long.toString(server));
    assertThat(worker.sandbox().uid()).isEmpty();
  }

  @Test
  void inheritEnvPassesTheNamedGatewayVariablesOn() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv())
        .inheritEnv(List.of(SECRET, "HERD_NOT_SET_ANYWHERE"))
        .build());

    ProcessWorker worker = spawned.spawn(factory, "w-inherit");

    assertThat(client(worker).env(SECRET)).isEqualTo(System.getenv(SECRET));
    assertThat(client(worker).env("HERD_NOT_SET_ANYWHERE")).isNull();
  }

  @Test
  void scratchDirectoryExistsWhileTheWorkerRunsAndIsGoneAfter() throws Exception {
    ProcessWorkerFactory factory = spawned.factory(config(TestWorkerCommand.argv()).build());
    ProcessWorker worker = spawned.spawn(factory, "w-scratch");
    Path scratch = Path.of(client(worker).env("HOME"));
    assertThat(scratch).isDirectory();
    assertThat(client(worker).get("/write?path=" + scratch.resolve("tmp/f") + "&text=x").body())
        .isEqualTo("written");

    worker.stop().get(30, TimeUnit.SECONDS);
    worker.sandbox().released().get(30, TimeUnit.SECONDS); // torn down after the exit

    assertThat(scratch).doesNotExist();
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
      assertThat(client(worker).pid()).isEqualTo(workerPid(worker));
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

    assertThat(client(worker).pid()).isEqualTo(workerPid(worker));
    assertThat(worker.checkHealth(Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS))
        .as("health checks answer false once the probe is gone")
        .isFalse();
    assertThat(factory.spawn("w-2")).failsWithin(Duration.ofSeconds(5));
  }

  static ProcessWorkerConfig.Builder config(List<String> command) {
    return ProcessWorkerConfig.builder()
        .command(command)
        .startTimeout(Duration.ofSeconds(30))
        .stopTimeout(Duration.ofSeconds(5))
        .sandbox(SandboxConfig.none()); // the sandbox has its own tests
  }

  /**
   * The worker's own process: the one child of {@code herd-launch}, which is what the factory
   * holds ({@link ProcessWorker#pid()}) and which stays as the supervisor of the worker it forked.
   */
  static long workerPid(ProcessWorker worker) {
    List<ProcessHandle> children =
        ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().children().toList();
    assertThat(children).as("the children of herd-launch %d", worker.pid().getAsLong()).hasSize(1);
    return children.get(0).pid();
  }

  static TestWorkerClient client(ProcessWorker worker) {
    return new TestWorkerClient(worker.address());
  }
}
