package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.WorkerExit;
import io.herd.core.WorkerStartException;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a worker under the default sandbox of a root gateway is and sees: an unprivileged UID of
 * its own without capabilities, private /tmp, a scratch directory nobody else can list, no way to
 * use files its UID may not read; and how it ends: SIGTERM reaches even a handler-less program
 * (it is not PID 1), and the exit says which signal ended it. Needs root and namespaces (skipped
 * otherwise, with the reason).
 */
class SandboxWorkerViewTest {

  @BeforeEach
  void needsRoot() {
    SandboxFixture.assumeSandboxHost();
  }

  @Test
  void defaultWorkerUnderRootHasItsOwnUidNoCapabilitiesAndNoNewPrivileges() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv()), "who");

      String id = get(worker, "/id");

      assertThat(id).as("uid: auto isolates under root")
          .doesNotContain("Uid: 0 ").containsPattern("Uid: 2\\d{5} 2\\d{5} 2\\d{5} 2\\d{5}")
          .contains("Groups:\n").contains("CapEff: 0000000000000000")
          .contains("CapPrm: 0000000000000000").contains("CapBnd: 0000000000000000")
          .contains("CapAmb: 0000000000000000").contains("NoNewPrivs: 1");
      assertThat(worker.sandbox().uid()).isPresent();
    }
  }

  @Test
  void aFileOneWorkerWritesInTmpIsSeenByNeitherTheNextWorkerNorTheHost() throws Exception {
    String name = "herd-private-tmp-" + ProcessHandle.current().pid() + ".txt";
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv());
      ProcessWorker first = fixture.spawn(factory, "first");
      assertThat(get(first, "/write?path=/tmp/" + name + "&text=secret")).isEqualTo("written");
      assertThat(get(first, "/write?path=/var/tmp/" + name + "&text=secret"))
          .isEqualTo("written");
      assertThat(get(first, "/read?path=/tmp/" + name)).isEqualTo("secret");
      first.stop().get(30, TimeUnit.SECONDS);

      ProcessWorker next = fixture.spawn(factory, "next");

      assertThat(get(next, "/ls?path=/tmp")).doesNotContain(name);
      assertThat(get(next, "/ls?path=/var/tmp")).doesNotContain(name);
      assertThat(Path.of("/tmp", name)).as("the host's /tmp").doesNotExist();
      assertThat(Path.of("/var/tmp", name)).as("the host's /var/tmp").doesNotExist();
      assertThat(get(next, "/env?name=TMPDIR")).isEqualTo(next.sandbox().tmpdir().orElseThrow()
          .toString());
    }
  }

  @Test
  void aFileOneWorkerWritesInRunLockIsSeenByNeitherAnotherWorkerNorTheHost() throws Exception {
    // Regression: /run/lock (and /var/lock, its link) is the host's and writable by everybody:
    // workers passed files to each other there, and left them, owned by their UID, behind.
    assumeTrue(Files.isDirectory(Path.of("/run/lock")) && Files.isWritable(Path.of("/run/lock"))
        && Files.getPosixFilePermissions(Path.of("/run/lock"))
            .contains(PosixFilePermission.OTHERS_WRITE),
        "skipped: this host has no /run/lock that everybody may write");
    String name = "herd-private-lock-" + ProcessHandle.current().pid() + ".txt";
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv());
      ProcessWorker writer = fixture.spawn(factory, "writer");
      ProcessWorker other = fixture.spawn(factory, "other");

      assertThat(get(writer, "/write?path=/run/lock/" + name + "&text=secret"))
          .isEqualTo("written");

      assertThat(get(writer, "/read?path=/run/lock/" + name)).isEqualTo("secret");
      assertThat(get(other, "/read?path=/run/lock/" + name)).as("another worker reading it")
          .startsWith("failed");
      assertThat(Path.of("/run/lock", name)).as("the host's /run/lock").doesNotExist();
    } finally {
      Files.deleteIfExists(Path.of("/run/lock", name));
    }
  }

  @Test
  void aWorkerReachesNeitherTheHostsSocketsNorItsSecretsUnderRun() throws Exception {
    // Regression: /run is where the host's services put their sockets (PostgreSQL's
    // .s.PGSQL.5432 and MySQL's are 0777, D-Bus and journald 0666), which no network namespace
    // covers, and where containers get their secrets (/run/secrets, 0444): an isolated worker
    // connected to such a socket and read such files.
    String name = "herd-test-" + ProcessHandle.current().pid();
    Path secret = Path.of("/run", name + "-secret");
    Path socket = Path.of("/run", name + ".sock");
    try (SandboxFixture fixture = new SandboxFixture();
        ServerSocketChannel service = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      Files.writeString(secret, "token");
      Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));
      service.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
      ProcessWorkerFactory factory =
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv());

      ProcessWorker worker = fixture.spawn(factory, "run");

      assertThat(get(worker, "/ls?path=/run")).as("the worker's /run")
          .doesNotContain(name);
      assertThat(get(worker, "/read?path=" + secret)).as("a secret the host keeps in /run")
          .startsWith("failed");
      assertThat(get(worker, "/write?path=/run/lock/" + name + "&text=x")).as("its own /run/lock")
          .isEqualTo("written");
      if (Files.isReadable(Path.of("/etc/resolv.conf"))) {
        assertThat(get(worker, "/read?path=/etc/resolv.conf")).as("the host's DNS settings")
            .isEqualTo(Files.readString(Path.of("/etc/resolv.conf")));
      }
    } finally {
      Files.deleteIfExists(secret);
      Files.deleteIfExists(socket);
    }
  }

  @Test
  void workersCannotListOrReadEachOthersScratchDirectories() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv());
      ProcessWorker a = fixture.spawn(factory, "a");
      ProcessWorker b = fixture.spawn(factory, "b");
      Path homeOfB = Path.of(get(b, "/env?name=HOME"));
      assertThat(get(b, "/write?path=" + homeOfB.resolve("notes.txt") + "&text=b's"))
          .isEqualTo("written");

      assertThat(homeOfB).isEqualTo(b.sandbox().workdir().orElseThrow());
      assertThat(get(b, "/env?name=HERD_WORKDIR")).isEqualTo(homeOfB.toString());
      assertThat(get(a, "/ls?path=" + homeOfB.getParent())).as("listing the root")
          .startsWith("failed");
      assertThat(get(a, "/ls?path=" + homeOfB)).as("listing B's home").startsWith("failed");
      assertThat(get(a, "/read?path=" + homeOfB.resolve("notes.txt"))).as("reading B's file")
          .startsWith("failed");
      assertThat(Files.getPosixFilePermissions(homeOfB.getParent()))
          .isEqualTo(PosixFilePermissions.fromString("rwx--x--x"));
      assertThat(Files.getPosixFilePermissions(homeOfB))
          .isEqualTo(PosixFilePermissions.fromString("rwx------"));

      b.stop().get(30, TimeUnit.SECONDS);
      b.sandbox().released().get(30, TimeUnit.SECONDS); // torn down after the exit
      assertThat(homeOfB).as("deleted after the exit").doesNotExist();
    }
  }

  @Test
  void aWorkerWhoseDirectoryAndClassPathLieUnderTmpStillSeesThemReadOnlyInItsPrivateTmp()
      throws Exception {
    // Regression: with a private /tmp, a worker.workdir under /tmp (a config next to its script
    // in /tmp/app) vanished inside the worker: "cannot enter directory /tmp/... as uid 2000xx".
    Path app = Files.createTempDirectory(Path.of("/tmp"), "herd-app-");
    try (SandboxFixture fixture = new SandboxFixture()) {
      Files.setPosixFilePermissions(app, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path jar = Files.copy(Path.of(TestWorkerCommand.builtClassPath().toString()),
          app.resolve("testkit.jar"));
      Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
      Files.writeString(app.resolve("data.txt"), "from the host");
      Files.setPosixFilePermissions(app.resolve("data.txt"),
          PosixFilePermissions.fromString("rw-r--r--"));
      List<String> command = TestWorkerCommand.argv();
      command.set(command.indexOf("-cp") + 1, jar.toString());
      ProcessWorkerFactory factory = fixture.factory(ProcessWorkerConfig.builder()
          .command(command).workdir(app).startTimeout(Duration.ofSeconds(30))
          .sandbox(SandboxConfig.defaults()).build());

      ProcessWorker worker = fixture.spawn(factory, "in-tmp");

      assertThat(get(worker, "/cwd")).isEqualTo(app.toString());
      assertThat(get(worker, "/read?path=" + app.resolve("data.txt"))).isEqualTo("from the host");
      assertThat(get(worker, "/write?path=" + app.resolve("new.txt") + "&text=x"))
          .as("kept read-only").startsWith("failed");
      assertThat(get(worker, "/ls?path=/tmp")).as("nothing else of the host's /tmp")
          .isEqualTo(app.getFileName().toString());
    } finally {
      try (var files = Files.walk(app)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void workerWhoseClassPathItsUidCannotReadFailsToStartSayingWhichPathUidAndFix(
      @TempDir Path dir) throws Exception {
    Path checkout = Files.createDirectory(dir.resolve("checkout"));
    Path jar = Files.copy(Path.of(TestWorkerCommand.builtClassPath().toString()),
        checkout.resolve("testkit.jar"));
    Files.setPosixFilePermissions(checkout, PosixFilePermissions.fromString("rwx------"));
    List<String> command = TestWorkerCommand.argv();
    command.set(command.indexOf("-cp") + 1, jar.toString());
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(SandboxConfig.defaults(), command);

      Throwable failure = catchThrowable(() -> factory.spawn("unreadable").get(30,
          TimeUnit.SECONDS));

      assertThat(failure).isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(WorkerStartException.class);
      assertThat(failure.getCause().getMessage())
          .containsPattern("the worker's UID 2\\d{5} \\(sandbox.uid\\) cannot use")
          .contains(jar + ", which a worker UID cannot reach: " + checkout
              + " is not searchable by others (expected: chmod o+x " + checkout);
    }
  }

  @Test
  void handlerlessWorkerStopsGracefullyOnSigtermBecauseItIsNotPidOne() throws Exception {
    Path python = Path.of("/usr/bin/python3");
    assumeTrue(Files.isExecutable(python), "skipped: python3 is not installed");
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(ProcessWorkerConfig.builder()
          .command(python.toString(), "-m", "http.server", "{{port}}", "--bind", "127.0.0.1")
          .healthPath("/")
          .startTimeout(Duration.ofSeconds(30))
          .stopTimeout(Duration.ofSeconds(60))
          .build());
      ProcessWorker worker = fixture.spawn(factory, "http-server");
      assertThat(get(worker, "/")).contains("Directory listing");

      var exit = worker.stop();

      Awaitility.await().atMost(Duration.ofSeconds(30)).until(exit::isDone);
      WorkerExit result = exit.get();
      assertThat(result.detail()).isEqualTo("stopped: killed by signal 15")
          .doesNotContain("SIGKILL");
    }
  }

  @Test
  void exitSaysWhichSignalEndedTheWorker() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv()), "victim");

      ProcessHandle.of(SandboxIdentityTest.workerOf(worker)).orElseThrow().destroyForcibly();

      WorkerExit exit = worker.onExit().get(30, TimeUnit.SECONDS);
      assertThat(exit.requested()).isFalse();
      assertThat(exit.detail()).isEqualTo("killed by signal 9");
      assertThat(exit.exitCode()).hasValue(128 + 9);
    }
  }
}
