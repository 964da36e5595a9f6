package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UidLeasesTest {

  @Test
  void leasesAreDistinctSkipUidsInUseAndComeBackWhenReleased(@TempDir Path dir) throws Exception {
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), () -> Set.of(300_001));

    int first = leases.lease(300_000, 300_002);
    int second = leases.lease(300_000, 300_002);

    assertThat(first).isEqualTo(300_000);
    assertThat(second).as("300001 runs a process already").isEqualTo(300_002);
    assertThatThrownBy(() -> leases.lease(300_000, 300_002))
        .isInstanceOf(IOException.class)
        .hasMessage("sandbox.uidRange is exhausted: 300000-300002 (expected: more UIDs than live"
            + " workers of every gateway on this host, and none left by dead ones; widen the"
            + " range)");
    leases.release(first);
    assertThat(leases.lease(300_000, 300_002)).isEqualTo(300_000);
    assertThat(leases.leased()).containsExactlyInAnyOrder(300_000, 300_002);
    assertThat(Files.readString(dir.resolve("uid").resolve("300000")))
        .as("the lease file records its holder").startsWith("pid " + ProcessHandle.current().pid());
    leases.release(300_000);
    leases.release(300_002);
    assertThat(Files.readString(dir.resolve("uid").resolve("300000")))
        .as("a released lease leaves an empty record").isEmpty();
  }

  @Test
  void uidOwningAnEntryInAScratchRootIsNotLeased(@TempDir Path dir) throws Exception {
    assumeTrue(HostSupport.detect().root(), "skipped: chown to another UID needs root");
    Path root = Files.createDirectory(dir.resolve("workers"));
    Path leftover = Files.createDirectory(root.resolve("herd-1-1-w-1"));
    Files.setAttribute(leftover, "unix:uid", 300_000);
    UidLeases leases = new UidLeases(LeaseDirectory.at(dir.resolve("uid")), Set::of);
    leases.scratchRoot(root);

    assertThat(leases.lease(300_000, 300_001)).as("300000 still owns a scratch directory")
        .isEqualTo(300_001);
    Files.delete(leftover);
    assertThat(leases.lease(300_000, 300_001)).isEqualTo(300_000);
    leases.release(300_000);
    leases.release(300_001);
  }
}
