package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.sandbox.CgroupLayout.Controller;
import io.herd.core.sandbox.CgroupLayout.Hierarchy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Detection of the cgroup hierarchies from mountinfo, without touching the real cgroupfs. */
class CgroupLayoutTest {

  /** This build machine: a tmpfs at /sys/fs/cgroup, v1 hierarchies, an almost empty unified. */
  private static final String HYBRID_MOUNTINFO = String.join("\n",
      "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
  private static final String HYBRID_CGROUP = String.join("\n",
      "9:name=systemd:/", "8:pids:/", "4:memory:/process_api/abc", "1:cpu:/", "0::/");

  @Test
  void hybridHostUsesTheV1HierarchiesAndNeverTheTmpfs() {
    CgroupLayout layout = CgroupLayout.parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, Optional.empty());

    assertThat(layout.hierarchy(Controller.MEMORY)).hasValue(
        new Hierarchy(CgroupVersion.V1, Path.of("/sys/fs/cgroup/memory/process_api/abc")));
    assertThat(layout.hierarchy(Controller.CPU))
        .hasValue(new Hierarchy(CgroupVersion.V1, Path.of("/sys/fs/cgroup/cpu")));
    assertThat(layout.hierarchy(Controller.PIDS))
        .hasValue(new Hierarchy(CgroupVersion.V1, Path.of("/sys/fs/cgroup/pids")));
  }

  @Test
  void configuredParentIsUsedInEveryHierarchy() {
    CgroupLayout layout =
        CgroupLayout.parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, Optional.of("/herd"));

    assertThat(layout.hierarchy(Controller.MEMORY).orElseThrow().parent())
        .isEqualTo(Path.of("/sys/fs/cgroup/memory/herd"));
  }

  @Test
  void tmpfsAloneOffersNothingAndSaysWhy() {
    CgroupLayout layout = CgroupLayout.parse(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755", "0::/",
        Optional.empty());

    assertThat(layout.hierarchy(Controller.MEMORY)).isEmpty();
    assertThat(layout.whyMissing(Controller.MEMORY))
        .hasValue("no cgroup hierarchy offers the memory controller");
  }

  @Test
  void unifiedHierarchyWithTheControllersIsPreferred(@TempDir Path root) throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    String mountinfo = HYBRID_MOUNTINFO.replace("/sys/fs/cgroup/unified", root.toString());

    CgroupLayout layout = CgroupLayout.parse(mountinfo, HYBRID_CGROUP, Optional.empty());

    assertThat(layout.hierarchy(Controller.MEMORY))
        .hasValue(new Hierarchy(CgroupVersion.V2, root));
    assertThat(layout.hierarchy(Controller.PIDS)).hasValue(new Hierarchy(CgroupVersion.V2, root));
  }

  @Test
  void containerMountOfASubtreeMapsTheOwnCgroupUnderTheMountPoint(@TempDir Path root)
      throws Exception {
    Files.createDirectories(root.resolve("app"));
    Files.writeString(root.resolve("app/cgroup.controllers"), "memory pids");
    String mountinfo = "50 40 0:30 /docker/abc " + root + " rw - cgroup2 cgroup2 rw";

    CgroupLayout layout = CgroupLayout.parse(mountinfo, "0::/docker/abc/app", Optional.empty());

    assertThat(layout.hierarchy(Controller.MEMORY))
        .hasValue(new Hierarchy(CgroupVersion.V2, root.resolve("app")));
    assertThat(layout.hierarchy(Controller.CPU)).isEmpty();
    assertThat(layout.whyMissing(Controller.CPU).orElseThrow())
        .contains("offers [").contains("memory");
  }
}
