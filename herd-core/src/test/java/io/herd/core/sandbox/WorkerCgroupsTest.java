package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Cgroups made ahead of demand ({@link WorkerCgroups}), on real workers as root: a spawn takes a
 * spare whose limits are already written, the worker's processes run in it, and a spare made
 * with limits no longer in force is never handed out. The fixture checks on close that no
 * cgroup, spare or not, is left behind.
 */
class WorkerCgroupsTest {

  private static final long MIB = 1 << 20;

  @BeforeEach
  void needsRoot() {
    SandboxFixture.assumeSandboxHost();
  }

  @Test
  void workerTakesASpareCgroupWithItsLimitsWrittenAndRunsInIt() throws Exception {
    SandboxConfig limits = SandboxConfig.builder().memory("256m").cpus(1).pids(128).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(limits, TestWorkerCommand.argv());
      fixture.spawn(factory, "first"); // made on demand; the spares are made after it
      WorkerCgroups cgroups = factory.sandbox().cgroups();
      await().atMost(Duration.ofSeconds(30))
          .until(() -> cgroups.spareDirs().size() == WorkerCgroups.SPARES);
      List<Path> spare = cgroups.spareDirs().get(0);

      ProcessWorker worker = fixture.spawn(factory, "second");

      assertThat(worker.sandbox().cgroupDirs()).as("the oldest spare").isEqualTo(spare);
      assertThat(get(worker, "/health")).isEqualTo("ok");
      List<Long> tree = new ArrayList<>();
      tree.add(worker.pid().getAsLong());
      ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().descendants()
          .forEach(p -> tree.add(p.pid()));
      assertThat(tree).as("launcher, init and worker").hasSizeGreaterThanOrEqualTo(3);
      for (Path dir : spare) {
        assertThat(members(dir)).as("processes in %s", dir).containsAll(tree);
      }
      assertThat(memoryLimit(spare)).isEqualTo(256 * MIB);
      assertThat(pidsLimit(spare)).isEqualTo(128);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> cgroups.spareDirs().size() == WorkerCgroups.SPARES);
    }
  }

  @Test
  void afterNewLimitsSparesMadeWithTheOldOnesAreNotHandedOut() throws Exception {
    SandboxConfig before = SandboxConfig.builder().memory("256m").cpus(0).pids(128).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(before, TestWorkerCommand.argv());
      fixture.spawn(factory, "first");
      WorkerCgroups cgroups = factory.sandbox().cgroups();
      await().atMost(Duration.ofSeconds(30))
          .until(() -> cgroups.spareDirs().size() == WorkerCgroups.SPARES);
      List<List<Path>> oldSpares = cgroups.spareDirs();

      factory.reconfigure(ProcessWorkerConfig.builder().command(TestWorkerCommand.argv())
          .startTimeout(Duration.ofSeconds(30))
          .sandbox(SandboxConfig.builder().memory("192m").cpus(0).pids(64).build()).build());
      ProcessWorker worker = fixture.spawn(factory, "second");

      assertThat(worker.sandbox().cgroupDirs()).isNotIn(oldSpares);
      assertThat(memoryLimit(worker.sandbox().cgroupDirs())).isEqualTo(192 * MIB);
      assertThat(pidsLimit(worker.sandbox().cgroupDirs())).isEqualTo(64);
      await().atMost(Duration.ofSeconds(30)).until(() -> oldSpares.stream().flatMap(List::stream)
          .noneMatch(Files::exists));
      await().atMost(Duration.ofSeconds(30))
          .until(() -> cgroups.spareDirs().size() == WorkerCgroups.SPARES);
      for (List<Path> spare : cgroups.spareDirs()) {
        assertThat(memoryLimit(spare)).as("a spare made after the change").isEqualTo(192 * MIB);
      }
    }
  }

  private static List<Long> members(Path dir) throws IOException {
    return Files.readAllLines(dir.resolve("cgroup.procs")).stream().filter(l -> !l.isBlank())
        .map(l -> Long.parseLong(l.trim())).toList();
  }

  private static long memoryLimit(List<Path> dirs) throws IOException {
    for (Path dir : dirs) {
      for (String file : List.of("memory.max", "memory.limit_in_bytes")) {
        if (Files.exists(dir.resolve(file))) {
          return Long.parseLong(Files.readString(dir.resolve(file)).trim());
        }
      }
    }
    throw new AssertionError("no memory limit file in " + dirs);
  }

  private static long pidsLimit(List<Path> dirs) throws IOException {
    for (Path dir : dirs) {
      if (Files.exists(dir.resolve("pids.max"))) {
        return Long.parseLong(Files.readString(dir.resolve("pids.max")).trim());
      }
    }
    throw new AssertionError("no pids.max in " + dirs);
  }
}
