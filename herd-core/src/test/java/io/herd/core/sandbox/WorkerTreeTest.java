package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.WorkerExit;
import io.herd.core.process.ProcessWorker;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.testkit.Processes;
import io.herd.testkit.ReadableCopy;
import io.herd.testkit.TestWorkerClient;
import io.herd.testkit.TestWorkerCommand;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without a PID namespace (a non-root gateway, or {@code sandbox.namespaces: false}) the processes
 * a worker starts, a double-forked daemon in a session of its own included, die with it: when the
 * worker exits, and when its gateway is SIGKILLed. herd-launch once exec'd the worker in place,
 * so only the worker had the parent-death signal: {@code sh -c "python3 app.py"} left Python
 * running, listening, for good.
 */
class WorkerTreeTest {

  private static final int NOBODY = 65534;

  /**
   * A worker whose command first leaves two processes behind, their pids written to {@code
   * child} and {@code grandchild} in its scratch directory: a background {@code sleep}, and one
   * that a {@code setsid} shell started and left (double fork, own session), then execs the test
   * worker.
   */
  static List<String> treeCommand() {
    return List.of("/bin/sh", "-c",
        "sleep 600 & echo $! > \"$HERD_WORKDIR/child\"; "
            + "setsid /bin/sh -c 'sleep 600 & echo $! > \"$0\"' \"$HERD_WORKDIR/grandchild\"; "
            + "exec " + WorkerTreeHostMain.shellQuoted(TestWorkerCommand.argv()));
  }

  /** No namespaces and no cgroup (nothing of those would kill the tree), host network. */
  static SandboxConfig sandbox(Path workdirRoot) {
    return SandboxConfig.builder().namespaces(false).memory(0).cpus(0).pids(0)
        .network(NetworkMode.LOOPBACK).workdirRoot(workdirRoot).build();
  }

  @Test
  void aWorkersChildrenAndDaemonsDieWithItsGateway(@TempDir Path tmp) throws Exception {
    assumeLauncher();
    Path home = root() ? newRunDirectory() : tmp;
    try {
      startHostAndKillIt(List.of(), System.getProperty("java.class.path"), home,
          home.resolve("workers"));
    } finally {
      deleteTree(home);
    }
  }

  @Test
  void aWorkersChildrenAndDaemonsDieWithAGatewayThatIsNotRoot() throws Exception {
    assumeLauncher();
    assumeTrue(root(), "skipped: needs root, to run a gateway as another user (uid 65534)");
    Path setpriv = Stream.of("/usr/bin/setpriv", "/bin/setpriv").map(Path::of)
        .filter(Files::isExecutable).findFirst().orElse(null);
    assumeTrue(setpriv != null, "skipped: needs setpriv (util-linux)");
    Path home = newRunDirectory();
    try {
      Path tmp = Files.createDirectory(home.resolve("tmp"));
      Files.setAttribute(tmp, "unix:uid", NOBODY);
      Files.setAttribute(tmp, "unix:gid", NOBODY);
      // Copies of the class path that uid 65534 can read (the checkout and ~/.m2 may be 0700).
      String classPath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
          .filter(entry -> !entry.isEmpty() && Files.exists(Path.of(entry)))
          .map(entry -> ReadableCopy.of(Path.of(entry)).toString())
          .collect(Collectors.joining(File.pathSeparator));
      startHostAndKillIt(List.of(setpriv.toString(), "--reuid", "" + NOBODY, "--regid",
          "" + NOBODY, "--clear-groups", "--"), classPath, home, tmp.resolve("workers"));
    } finally {
      deleteTree(home);
    }
  }

  @Test
  void whatAWorkerLeftIsGoneOnceItsExitIsReported() throws Exception {
    assumeLauncher();
    List<Long> left = new ArrayList<>();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(fixture.factory(
          sandbox(SandboxConfig.defaults().workdirRoot()), treeCommand()), "w-exit");
      Path scratch = worker.sandbox().workdir().orElseThrow();
      long child = Long.parseLong(Files.readString(scratch.resolve("child")).trim());
      long grandchild = Long.parseLong(Files.readString(scratch.resolve("grandchild")).trim());
      left.addAll(List.of(child, grandchild));
      assertThat(left).allMatch(Processes::isAlive);

      new TestWorkerClient(worker.address()).exit(3);
      WorkerExit exit = worker.onExit().get(30, TimeUnit.SECONDS);

      assertThat(exit.detail()).isEqualTo("exited with code 3");
      assertThat(Processes.isAlive(child)).as("the worker's child %d", child).isFalse();
      assertThat(Processes.isAlive(grandchild))
          .as("the daemon %d the worker's command left in a session of its own", grandchild)
          .isFalse();
    } finally {
      left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
  }

  /**
   * Runs {@link WorkerTreeHostMain} (prefixed by {@code prefix}), SIGKILLs it once its worker is
   * up, and waits until herd-launch, the worker and what the worker left are all gone.
   */
  private static void startHostAndKillIt(List<String> prefix, String classPath, Path home,
      Path workdirRoot) throws Exception {
    List<String> argv = new ArrayList<>(prefix);
    argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classPath, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
        "-Djava.io.tmpdir=" + home.resolve("tmp"), WorkerTreeHostMain.class.getName(),
        workdirRoot.toString()));
    Files.createDirectories(home.resolve("tmp"));
    Path log = home.resolve("host-stderr.log");
    Process host = new ProcessBuilder(argv).directory(home.toFile())
        .redirectError(log.toFile()).start();
    Map<String, Long> pids = new LinkedHashMap<>();
    try {
      host.getOutputStream().close();
      BufferedReader out = new BufferedReader(
          new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
        int space = line.indexOf(' ');
        if (space > 0) {
          pids.put(line.substring(0, space), Long.parseLong(line.substring(space + 1).trim()));
        }
      }
      assertThat(pids).as("host stderr: %s", readQuietly(log))
          .containsOnlyKeys("launcher", "worker", "child", "grandchild");
      assertThat(pids.values()).allMatch(Processes::isAlive);

      host.destroyForcibly(); // SIGKILL: no shutdown hook, no stop path
      assertThat(host.waitFor(30, TimeUnit.SECONDS)).isTrue();

      await("every process of the worker's tree is gone").atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(20))
          .untilAsserted(() -> assertThat(pids.entrySet().stream()
              .filter(e -> Processes.isAlive(e.getValue())).toList())
              .as("still running, of %s", pids).isEmpty());
    } finally {
      host.destroyForcibly();
      host.waitFor(30, TimeUnit.SECONDS);
      pids.values().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      ReadableCopy.deleteCopiesOf(host.pid()); // its shutdown hook never ran
    }
  }

  private static void assumeLauncher() {
    HostSupport host = HostSupport.detect();
    assumeTrue(host.launcher().isPresent(), () -> "skipped: " + host.launcherProblem());
  }

  private static boolean root() {
    return HostSupport.detect().root();
  }

  /** A 0755 directory under /run, where a worker under another UID can reach its own. */
  private static Path newRunDirectory() throws IOException {
    Path dir = Files.createTempDirectory(Path.of("/run"), "herd-tree-test-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
