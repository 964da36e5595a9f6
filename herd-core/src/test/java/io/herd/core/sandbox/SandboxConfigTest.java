package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.core.InvalidConfigException;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxConfigTest {

  @Test
  void defaultsLimitUseNamespacesIsolateUidsUnderRootAndShareTheNetwork() {
    SandboxConfig config = SandboxConfig.defaults();

    assertThat(config.enabled()).isTrue();
    assertThat(config.memoryBytes()).isEqualTo(1L << 30);
    assertThat(config.cpus()).isEqualTo(1.0);
    assertThat(config.pids()).isEqualTo(1024);
    assertThat(config.namespaces()).isTrue();
    assertThat(config.uid()).as("isolated under root, shared otherwise").isEqualTo(UidMode.AUTO);
    assertThat(config.network()).isEqualTo(NetworkMode.LOOPBACK);
    assertThat(config.required()).isFalse();
    assertThat(config.cgroupParent()).isEmpty();
    assertThat(config.networkRange()).isEqualTo("10.213.0.0/16");
  }

  @Test
  void noneTurnsEverythingOff() {
    assertThat(SandboxConfig.none().enabled()).isFalse();
    assertThat(SandboxConfig.none().warnings(List.of("/root/app"))).isEmpty();
  }

  @Test
  void memoryIsParsedInBinaryUnits() {
    assertThat(SandboxConfig.builder().memory("512m").build().memoryBytes()).isEqualTo(512L << 20);
    assertThat(SandboxConfig.builder().memory("1GiB").build().memoryBytes()).isEqualTo(1L << 30);
    assertThat(SandboxConfig.builder().memory("64 MB").build().memoryBytes()).isEqualTo(64L << 20);
    assertThat(SandboxConfig.builder().memory("8388608").build().memoryBytes()).isEqualTo(8388608);
    assertThat(SandboxConfig.builder().memory("0").build().memoryBytes()).isZero();
  }

  @Test
  void everyProblemIsReportedAtOnceWithTheExpectedShape() {
    InvalidConfigException error = catchThrowableOfType(() -> SandboxConfig.builder()
        .memory("lots")
        .cpus(-1)
        .pids(-2)
        .uidRange(5, 4)
        .networkRange("8.8.8.0/24")
        .cgroupParent("herd/../x")
        .workdirRoot(Path.of("relative"))
        .build(), InvalidConfigException.class);

    assertThat(error.problems()).containsExactly(
        "sandbox.memory is not a size: lots (expected: bytes or a number with a k, m, g suffix,"
            + " e.g. 512m; 0 for no limit)",
        "sandbox.cpus is out of range: -1.0 (expected: 0.01 to 4096 cores, or 0 for no quota)",
        "sandbox.pids is negative: -2 (expected: >= 1, or 0 for no limit)",
        "sandbox.uidRange is invalid: 5-4 (expected: first-last with 1000 <= first <= last <="
            + " 2147483646)",
        "sandbox.networkRange is not a private range of at least 4 addresses: 8.8.8.0/24"
            + " (expected: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, prefix <= 30)",
        "sandbox.cgroupParent is invalid: herd/../x (expected: an absolute cgroup path such as"
            + " /herd, without '..')",
        "sandbox.workdirRoot is not absolute: relative (expected: an absolute directory path)");
  }

  @Test
  void tinyMemoryLimitIsRejectedNotRoundedUp() {
    InvalidConfigException error = catchThrowableOfType(
        () -> SandboxConfig.builder().memory("1k").build(), InvalidConfigException.class);

    assertThat(error.problems())
        .containsExactly("sandbox.memory is too small: 1024 (expected: >= 4m, or 0 for no limit)");
  }

  @Test
  void networkRangeIsCutIntoSlash30Blocks() {
    Ipv4Range range = SandboxConfig.builder().networkRange("192.168.7.0/29").build()
        .networkRangeParsed();

    assertThat(range.blocks()).isEqualTo(2);
    assertThat(range.hostAddress(1).getHostAddress()).isEqualTo("192.168.7.5");
    assertThat(range.workerAddress(1).getHostAddress()).isEqualTo("192.168.7.6");
  }

  @Test
  void isolatedUidWarnsAboutCommandFilesOnlyTheGatewayUserCanReach(@TempDir Path dir)
      throws Exception {
    Path privateDir = Files.createDirectory(dir.resolve("private"));
    Path interpreter = Files.createFile(privateDir.resolve("python"));
    Files.setPosixFilePermissions(privateDir, PosixFilePermissions.fromString("rwx------"));
    Path script = Files.createFile(dir.resolve("app.py"));
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-------"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    SandboxConfig isolated = SandboxConfig.builder().uid(UidMode.ISOLATED).build();

    List<String> warnings = isolated.warnings(List.of(interpreter.toString(), script.toString(),
        "-cp", "/usr/bin:" + script));

    assertThat(warnings).containsExactly(
        "sandbox.uid is isolated but worker.command uses " + interpreter + ", which a worker UID"
            + " cannot reach: " + privateDir + " is not searchable by others (expected: chmod o+x "
            + privateDir + ", or move it to a directory others can enter, e.g. under /opt or"
            + " /srv)",
        "sandbox.uid is isolated but worker.command uses " + script + ", which a worker UID"
            + " cannot read (expected: chmod o+r " + script + ")");
    assertThat(SandboxConfig.builder().uid(UidMode.SHARED).build()
        .warnings(List.of(interpreter.toString()))).isEmpty();
  }
}
