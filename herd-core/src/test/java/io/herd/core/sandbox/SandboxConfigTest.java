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
  void defaultsLimitUseNamespacesIsolateUidsUnderRootAndTheNetworkWhereTheHostAllows() {
    SandboxConfig config = SandboxConfig.defaults();

    assertThat(config.enabled()).isTrue();
    assertThat(config.memoryBytes()).isEqualTo(1L << 30);
    assertThat(config.cpus()).isEqualTo(1.0);
    assertThat(config.pids()).isEqualTo(1024);
    assertThat(config.namespaces()).isTrue();
    assertThat(config.uid()).as("isolated under root, shared otherwise").isEqualTo(UidMode.AUTO);
    assertThat(config.network()).isEqualTo(NetworkMode.AUTO);
    assertThat(config.egress()).isEmpty();
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
  void egressEntriesAreParsedInEveryForm() {
    SandboxConfig config = SandboxConfig.builder().egress("internet", "internet:443",
        "10.20.0.0/16", "10.20.0.0/16:5432", "192.0.2.7:443", "192.0.2.8", "0.0.0.0/0").build();

    assertThat(config.egress()).extracting(EgressRule::toString).containsExactly("internet",
        "internet:443", "10.20.0.0/16", "10.20.0.0/16:5432", "192.0.2.7:443", "192.0.2.8",
        "0.0.0.0/0");
    assertThat(config.egress().get(3).network()).contains("10.20.0.0/16");
    assertThat(config.egress().get(3).port()).hasValue(5432);
    assertThat(config.egress().get(0).internet()).isTrue();
  }

  @Test
  void everyInvalidEgressEntryIsReportedWithItsIndex() {
    InvalidConfigException error = catchThrowableOfType(() -> SandboxConfig.builder()
        .egress("internet", "db.example.com:5432", "10.0.0.1/8", "10.0.0.0/8:70000",
            "127.0.0.1:8080", "10.213.4.0/24", "300.1.1.1")
        .build(), InvalidConfigException.class);

    assertThat(error.problems()).containsExactly(
        "sandbox.egress[1] is not a CIDR, an address, either with :port, or internet:"
            + " db.example.com:5432 (expected: " + EgressRule.EXPECTED + ")",
        "sandbox.egress[2] has host bits set: 10.0.0.1/8 (expected: 10.0.0.0/8)",
        "sandbox.egress[3] has a port out of range: 10.0.0.0/8:70000 (expected: 1-65535)",
        "sandbox.egress[4] is loopback, which is the worker's own inside its namespace:"
            + " 127.0.0.1:8080 (expected: a destination outside 127.0.0.0/8)",
        "sandbox.egress[5] lies in sandbox.networkRange 10.213.0.0/16, the workers' own"
            + " addresses, which workers never reach: 10.213.4.0/24 (expected: a destination"
            + " outside 10.213.0.0/16)",
        "sandbox.egress[6] is not a CIDR, an address, either with :port, or internet: 300.1.1.1"
            + " (expected: " + EgressRule.EXPECTED + ")");
  }

  @Test
  void egressWithALoopbackNetworkIsAContradiction() {
    InvalidConfigException error = catchThrowableOfType(() -> SandboxConfig.builder()
        .network(NetworkMode.LOOPBACK).egress("internet").build(), InvalidConfigException.class);

    assertThat(error.problems()).containsExactly("sandbox.egress needs network isolation, but"
        + " sandbox.network is loopback: [internet] (expected: sandbox.network: auto or isolated,"
        + " or no egress (loopback workers reach everything the host reaches))");
  }

  @Test
  void networkSparesOutOfRangeAreRejected() {
    assertThat(SandboxConfig.defaults().networkSpares()).isEqualTo(2);
    assertThat(SandboxConfig.builder().networkSpares(0).build().networkSpares()).isZero();
    InvalidConfigException error = catchThrowableOfType(
        () -> SandboxConfig.builder().networkSpares(-1).build(), InvalidConfigException.class);

    assertThat(error.problems()).containsExactly("sandbox.networkSpares is out of range: -1"
        + " (expected: 0 to 64 networks built ahead of demand per pool)");
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
