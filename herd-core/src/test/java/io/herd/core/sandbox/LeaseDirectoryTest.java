package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseDirectoryTest {

  @Test
  void aLeaseIsExclusiveWithinTheJvmAndIsFreeAgainOnceReleased(@TempDir Path dir)
      throws Exception {
    LeaseDirectory leases = LeaseDirectory.at(dir);

    assertThat(leases.tryLease("a", "pid 1\n", r -> true)).isTrue();
    assertThat(leases.tryLease("a", "pid 1\n", r -> false)).as("held by this JVM").isFalse();
    assertThat(LeaseDirectory.at(dir.resolve(".")).holds("a")).as("one instance per directory")
        .isTrue();
    leases.release("a");

    assertThat(leases.tryLease("a", "pid 2\n", r -> true))
        .as("released cleanly: the leftovers check is not even asked").isTrue();
    assertThat(Files.readString(dir.resolve("a"))).isEqualTo("pid 2\n");
    leases.release("a");
  }

  @Test
  void aDeadHoldersRecordKeepsTheThingUnleasedWhileItsLeftoversRemain(@TempDir Path dir)
      throws Exception {
    // A holder that died leaves its record in an unlocked file.
    Files.writeString(dir.resolve("b"), "pid 999999\nlink hv-gone\n");
    LeaseDirectory leases = LeaseDirectory.at(dir);

    assertThat(leases.tryLease("b", "pid 3\n", r -> r.contains("hv-gone"))).isFalse();
    assertThat(Files.readString(dir.resolve("b"))).as("record kept").contains("hv-gone");
    assertThat(leases.tryLease("b", "pid 3\n", r -> false)).isTrue();
    leases.release("b");
  }

  @Test
  void recordValuesAreReadByKey() {
    assertThat(LeaseDirectory.values("pid 12\nlink hv1-2\nroot /a\nroot /b c\n", "root"))
        .containsExactly("/a", "/b c");
  }
}
