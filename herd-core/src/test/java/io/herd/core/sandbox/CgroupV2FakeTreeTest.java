package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 code path against a fake unified hierarchy in a temporary directory (this build
 * machine has no v2 controllers): which files get which values, how controllers are handed down,
 * how an OOM kill is read, and removal.
 */
class CgroupV2FakeTreeTest {

  @TempDir Path root;
  private CgroupLayout layout;

  @BeforeEach
  void fakeUnifiedHierarchy() throws Exception {
    Path parent = Files.createDirectories(root.resolve("herd"));
    Files.writeString(parent.resolve("cgroup.controllers"), "cpuset cpu io memory pids");
    Files.writeString(parent.resolve("cgroup.subtree_control"), "cpu");
    String mountinfo = "41 31 0:38 / " + root + " rw,relatime - cgroup2 cgroup2 rw";
    layout = CgroupLayout.parse(mountinfo, "0::/herd", Optional.empty());
  }

  @Test
  void limitsAreWrittenInV2Spelling() throws Exception {
    SandboxConfig config = SandboxConfig.builder().memory("256m").cpus(1.5).pids(64).build();

    WorkerCgroup cgroup = WorkerCgroup.create(layout, "w-1", config);

    Path dir = root.resolve("herd/w-1");
    assertThat(cgroup.dirs()).containsExactly(dir);
    assertThat(Files.readString(dir.resolve("memory.max"))).isEqualTo("268435456");
    assertThat(Files.readString(dir.resolve("cpu.max"))).isEqualTo("150000 100000");
    assertThat(Files.readString(dir.resolve("pids.max"))).isEqualTo("64");
    assertThat(Files.readString(root.resolve("herd/cgroup.subtree_control")))
        .as("controllers the parent did not hand down yet").isEqualTo("+memory +pids");
    assertThat(cgroup.procsFiles()).containsExactly(dir.resolve("cgroup.procs"));
  }

  @Test
  void unsetLimitsWriteNothing() throws Exception {
    SandboxConfig config = SandboxConfig.builder().memory(0).cpus(0.25).pids(0).build();

    WorkerCgroup.create(layout, "w-2", config);

    Path dir = root.resolve("herd/w-2");
    assertThat(dir.resolve("memory.max")).doesNotExist();
    assertThat(dir.resolve("pids.max")).doesNotExist();
    assertThat(Files.readString(dir.resolve("cpu.max"))).isEqualTo("25000 100000");
  }

  @Test
  void oomKillIsReadFromMemoryEvents() throws Exception {
    WorkerCgroup cgroup = WorkerCgroup.create(layout, "w-3", SandboxConfig.defaults());
    Path events = root.resolve("herd/w-3/memory.events");
    Files.writeString(events, "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n");
    assertThat(cgroup.oomKilled()).isFalse();

    Files.writeString(events, "low 0\nhigh 0\nmax 40\noom 2\noom_kill 1\n");

    assertThat(cgroup.oomKilled()).isTrue();
  }

  @Test
  void destroyRemovesTheDirectory() throws Exception {
    WorkerCgroup cgroup = WorkerCgroup.create(layout, "w-4", SandboxConfig.defaults());
    Path dir = root.resolve("herd/w-4");
    // The kernel removes control files with the directory; a fake tree must do it by hand.
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }

    List<Path> left = cgroup.destroy();

    assertThat(left).isEmpty();
    assertThat(dir).doesNotExist();
  }

  @Test
  void failedCreationRemovesWhatItCreated() throws Exception {
    Files.writeString(root.resolve("herd/w-5"), "a file in the way");

    Throwable error = org.assertj.core.api.Assertions.catchThrowable(
        () -> WorkerCgroup.create(layout, "w-5", SandboxConfig.defaults()));

    assertThat(error).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    assertThat(Files.readString(root.resolve("herd/w-5"))).as("not ours: left alone")
        .isEqualTo("a file in the way");
  }
}
