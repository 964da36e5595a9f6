package io.herd.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository's {@code ./herd} launcher and its class-data-sharing archive ({@code HERD_CDS}):
 * it starts without an archive, {@code record} writes one that later starts map, and an archive
 * that is older than the jar or damaged is passed over without a word. Each test runs a copy of
 * the launcher beside a copy of the packaged jar in a directory of its own (no sources there, so
 * the launcher never builds), so the repository's own {@code target/} is left alone. Runs in
 * failsafe's integration-test phase, after the package phase built {@code target/herd.jar}.
 */
@EnabledIfSystemProperty(named = "herd.packaged", matches = "true",
    disabledReason = "needs target/herd.jar: runs in failsafe's integration-test phase")
class LauncherCdsIT {

  /** What {@code -Xlog:class+load} says of a class read from the dynamic (top-layer) archive. */
  private static final String FROM_DYNAMIC_ARCHIVE = "source: shared objects file (top)";

  @TempDir
  Path root;
  private Path launcher;
  private Path jar;
  private Path archive;

  @BeforeEach
  void copyLauncherAndJar() throws Exception {
    Path target = Files.createDirectories(root.resolve("herd-server/target"));
    jar = Files.copy(Path.of("target/herd.jar"), target.resolve("herd.jar"));
    launcher = Files.copy(Path.of("../herd"), root.resolve("herd"));
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    archive = target.resolve("herd.jsa");
  }

  @Test
  void startsWithoutAnArchive() throws Exception {
    Result r = herd(Map.of(), "--version");

    assertThat(r.exit).as("exit status; output: %s", r.output).isZero();
    assertThat(r.output).startsWith("herd ");
    assertThat(archive).doesNotExist();
  }

  @Test
  void recordWritesTheArchiveThatTheNextStartMaps() throws Exception {
    Result recorded = herd(Map.of("HERD_CDS", "record"), "--version");
    assertThat(recorded.exit).as("exit status; output: %s", recorded.output).isZero();
    assertThat(archive).as("written when the JVM exits").isNotEmptyFile();
    assertThat(recorded.output).as("CDS warnings are silenced").doesNotContain("[warning]");

    Path classLog = root.resolve("classes.log");
    Result r = herd(Map.of("HERD_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog),
        "--version");

    assertThat(r.exit).as("exit status; output: %s", r.output).isZero();
    assertThat(r.output).startsWith("herd ");
    assertThat(Files.readString(classLog)).as("classes come from the recorded archive")
        .contains(FROM_DYNAMIC_ARCHIVE);
  }

  @Test
  void anArchiveOlderThanTheJarIsNotUsed() throws Exception {
    assertThat(herd(Map.of("HERD_CDS", "record"), "--version").exit).isZero();
    FileTime jarTime = Files.getLastModifiedTime(jar);
    Files.setLastModifiedTime(archive, FileTime.fromMillis(jarTime.toMillis() - 3_600_000));

    Path classLog = root.resolve("classes.log");
    Result r = herd(Map.of("HERD_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog),
        "--version");

    assertThat(r.exit).as("exit status; output: %s", r.output).isZero();
    assertThat(Files.readString(classLog)).as("a rebuilt jar ignores an older archive")
        .doesNotContain(FROM_DYNAMIC_ARCHIVE);
  }

  @Test
  void aDamagedArchiveIsSkippedSilently() throws Exception {
    byte[] junk = new byte[64 * 1024];
    new Random(9).nextBytes(junk);
    Files.write(archive, junk);
    Files.setLastModifiedTime(archive,
        FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 60_000));

    Result r = herd(Map.of(), "--version");

    assertThat(r.exit).as("exit status; output: %s", r.output).isZero();
    assertThat(r.output).startsWith("herd ").doesNotContain("warning").doesNotContain("error");
  }

  @Test
  void anUnknownModeIsRefusedWithItsName() throws Exception {
    Result r = herd(Map.of("HERD_CDS", "always"), "--version");

    assertThat(r.exit).isEqualTo(2);
    assertThat(r.output).contains("HERD_CDS is not auto, record or off: always");
  }

  private record Result(int exit, String output) {}

  private Result herd(Map<String, String> extraEnv, String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of(launcher.toString()));
    argv.addAll(List.of(args));
    Path out = Files.createTempFile(root, "herd", ".out");
    ProcessBuilder pb = new ProcessBuilder(argv).directory(root.toFile())
        .redirectErrorStream(true).redirectOutput(out.toFile());
    Map<String, String> env = new HashMap<>();
    env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.putAll(extraEnv);
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        throw new AssertionError(argv + " did not exit within 120 s: " + Files.readString(out));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }
}
