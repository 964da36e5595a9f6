package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.sandbox.LauncherBinary;
import io.herd.testkit.Processes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process supervisor ({@code herd-launch --serve}) with real launchers and real shell
 * workers: output framing and line rules, fairness under a flood, exits, kills of whole trees,
 * and the end of the supervisor taking every worker with it.
 */
class ProcessSupervisorTest {

  private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "LC_ALL", "C");

  private final List<WorkerProcess> spawned = new ArrayList<>();
  private ProcessLauncherThread launcher;
  private ProcessSupervisor supervisor;

  @BeforeEach
  void startSupervisor() throws Exception {
    launcher = new ProcessLauncherThread();
    supervisor = ProcessSupervisor.start(binary(), launcher);
  }

  @AfterEach
  void stopEverything() throws Exception {
    for (WorkerProcess process : spawned) {
      process.killTree();
    }
    for (WorkerProcess process : spawned) {
      process.onExit().get(20, TimeUnit.SECONDS);
    }
    supervisor.close();
    supervisor.ended().get(20, TimeUnit.SECONDS);
    launcher.close();
    assertThat(SpawnedProcesses.awaitNoDescendants(Duration.ofSeconds(5)))
        .as("nothing outlives the supervisor")
        .isEmpty();
  }

  @Test
  void linesOfBothStreamsArriveCutAtLineEndsAndDecodedAsUtf8() throws Exception {
    WorkerLines lines = new WorkerLines("w-1");
    WorkerProcess process = spawn(lines,
        "printf 'one\\r\\ntwo\\n'; printf '\\303\\274\\342\\202\\254 \\377\\n'; printf 'e1\\n' >&2;"
            + " printf 'no newline'; exit 3");

    assertThat(exitCode(process)).isEqualTo(3);
    process.outputDrained().get(20, TimeUnit.SECONDS);
    assertThat(texts(lines, WorkerOutput.Stream.STDOUT))
        .containsExactly("one", "two", "ü€ \uFFFD", "no newline");
    assertThat(lines.recentStderr()).containsExactly("e1");
  }

  @Test
  void aLineLongerThanTheLimitIsCutIntoSeveral() throws Exception {
    WorkerLines lines = new WorkerLines("w-1");
    WorkerProcess process = spawn(lines, "head -c 20000 /dev/zero | tr '\\0' x; echo; echo end");

    assertThat(exitCode(process)).isZero();
    process.outputDrained().get(20, TimeUnit.SECONDS);
    assertThat(texts(lines, WorkerOutput.Stream.STDOUT).stream().map(String::length))
        .containsExactly(8192, 8192, 20000 - 2 * 8192, 3);
  }

  @Test
  void aFloodingWorkerDoesNotHoldUpTheOutputOfAnother() throws Exception {
    WorkerLines floodLines = new WorkerLines("flood");
    WorkerProcess flood = spawn(floodLines, "yes flooding-the-pipe");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> floodLines.output().next() > 10_000);
    WorkerLines quietLines = new WorkerLines("quiet");
    WorkerProcess quiet = spawn(quietLines, "echo hello; echo bye >&2");

    quiet.outputDrained().get(20, TimeUnit.SECONDS);
    assertThat(flood.isAlive()).as("the flood never ends on its own").isTrue();
    assertThat(texts(quietLines, WorkerOutput.Stream.STDOUT)).containsExactly("hello");
    assertThat(quietLines.recentStderr()).containsExactly("bye");
    assertThat(floodLines.output().snapshot())
        .as("the flood's kept lines are bounded")
        .hasSizeLessThanOrEqualTo(WorkerOutput.DEFAULT_MAX_LINES);
  }

  @Test
  void whatTheWorkerLeftRunningIsKilledWhenItExitsAndItsOutputEnds() throws Exception {
    WorkerLines lines = new WorkerLines("w-1");
    WorkerProcess process = spawn(lines, "sleep 1000 & echo $!; exit 0");

    assertThat(exitCode(process)).isZero();
    process.outputDrained().get(20, TimeUnit.SECONDS);
    long orphan = Long.parseLong(texts(lines, WorkerOutput.Stream.STDOUT).get(0));
    assertThat(Processes.awaitGone(orphan, Duration.ofSeconds(10)))
        .as("the background sleep the worker left is gone").isTrue();
  }

  @Test
  void aCrashIsReportedAsTheSignalThatEndedTheWorker() throws Exception {
    WorkerProcess process = spawn(new WorkerLines("w-1"), "kill -SEGV $$");

    assertThat(exitCode(process)).isEqualTo(128 + 11);
  }

  @Test
  void terminateIsForwardedToTheWorkerAndKillTreeEndsItsWholeTree() throws Exception {
    WorkerLines trapping = new WorkerLines("trap");
    WorkerProcess graceful = spawn(trapping, "trap 'echo got-term; exit 7' TERM; echo ready;"
        + " while true; do sleep 0.05; done");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> texts(trapping, WorkerOutput.Stream.STDOUT).contains("ready"));
    graceful.terminate();
    assertThat(exitCode(graceful)).isEqualTo(7);

    WorkerLines stubborn = new WorkerLines("stubborn");
    WorkerProcess ignoring = spawn(stubborn, "trap '' TERM; sleep 1000 & echo $!; wait");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> !texts(stubborn, WorkerOutput.Stream.STDOUT).isEmpty());
    long child = Long.parseLong(texts(stubborn, WorkerOutput.Stream.STDOUT).get(0));
    ignoring.killTree();
    assertThat(exitCode(ignoring)).isEqualTo(128 + 9);
    assertThat(Processes.awaitGone(child, Duration.ofSeconds(10)))
        .as("the worker's child is killed with it").isTrue();
  }

  @Test
  void theEndOfTheSupervisorKillsEveryWorkerAndReportsThemKilled() throws Exception {
    List<WorkerProcess> sleepers = new ArrayList<>();
    List<WorkerLines> lines = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WorkerLines out = new WorkerLines("w-" + i);
      lines.add(out);
      sleepers.add(spawn(out, "sleep 1000 & echo $!; wait"));
    }
    List<Long> pids = new ArrayList<>();
    for (WorkerLines out : lines) {
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
          .until(() -> !texts(out, WorkerOutput.Stream.STDOUT).isEmpty());
      pids.add(Long.parseLong(texts(out, WorkerOutput.Stream.STDOUT).get(0)));
    }

    ProcessHandle.of(supervisor.pid()).orElseThrow().destroyForcibly();

    for (WorkerProcess sleeper : sleepers) {
      assertThat(exitCode(sleeper)).isEqualTo(128 + 9);
    }
    for (long pid : pids) {
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(10)))
          .as("worker process %d died with its supervisor", pid).isTrue();
    }
    assertThat(supervisor.spawn(argv("true"), ENV, null, new WorkerLines("late")))
        .failsWithin(Duration.ofSeconds(20));
  }

  @Test
  void aMissingDirectoryFailsTheSpawnWithItsName(@TempDir Path dir) {
    Path missing = dir.resolve("missing");

    assertThatThrownBy(() -> supervisor.spawn(argv("true"), ENV, missing, new WorkerLines("w-1"))
            .get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("cannot enter directory " + missing);
  }

  private WorkerProcess spawn(WorkerLines lines, String script) throws Exception {
    WorkerProcess process =
        supervisor.spawn(argv(script), ENV, null, lines).get(20, TimeUnit.SECONDS);
    spawned.add(process);
    return process;
  }

  private List<String> argv(String script) {
    return List.of(binary().toString(), "--setsid", "--parent", Long.toString(supervisor.pid()),
        "--", "/bin/sh", "-c", script);
  }

  private static int exitCode(WorkerProcess process) throws Exception {
    process.onExit().get(20, TimeUnit.SECONDS);
    return process.exitValue();
  }

  private static List<String> texts(WorkerLines lines, WorkerOutput.Stream stream) {
    return lines.output().snapshot().stream()
        .filter(line -> line.stream() == stream)
        .map(WorkerOutput.Line::text)
        .toList();
  }

  private static Path binary() {
    return LauncherBinary.detect().path().orElseThrow();
  }
}
