package io.herd.server;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release tarball {@code target/herd-<version>.tar.gz}, unpacked as a user would, run with a
 * PATH that has no Maven (nor java: JAVA_HOME points at a runtime): {@code bin/herd --version},
 * {@code validate} on a shipped example, the demo serving one request and stopping on SIGTERM
 * with nothing left behind, the shell completion, and the systemd unit. Runs in failsafe's
 * integration-test phase, after the package phase built the tarball.
 */
@EnabledIfSystemProperty(named = "herd.packaged", matches = "true",
    disabledReason = "needs target/herd-<version>.tar.gz: runs in failsafe's integration-test phase")
class ReleaseTarballIT {

  @TempDir
  static Path tmp;
  private static Path home;
  private static Map<String, String> env;

  @BeforeAll
  static void unpack() throws Exception {
    Path tarball;
    try (DirectoryStream<Path> found = Files.newDirectoryStream(Path.of("target"),
        "herd-*.tar.gz")) {
      List<Path> all = new ArrayList<>();
      found.forEach(all::add);
      assertThat(all).as("one tarball in target/").hasSize(1);
      tarball = all.get(0).toAbsolutePath();
    }
    // Readable by workers under their own UIDs, like an install under /opt.
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    assertThat(run(List.of("tar", "-xzf", tarball.toString(), "-C", tmp.toString()), Map.of(),
        tmp)).isZero();
    String name = tarball.getFileName().toString().replace(".tar.gz", "");
    home = tmp.resolve(name);
    env = Map.of("PATH", pathWithoutMaven().toString(),
        "JAVA_HOME", System.getProperty("java.home"));
  }

  /**
   * A directory of links to every program on this PATH but mvn, mvnw and java: what a host with
   * only a Java runtime (found through JAVA_HOME) offers.
   */
  private static Path pathWithoutMaven() throws IOException {
    Path bin = Files.createDirectory(tmp.resolve("path"));
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path d = Path.of(dir.isEmpty() ? "." : dir);
      if (!Files.isDirectory(d)) {
        continue;
      }
      try (DirectoryStream<Path> programs = Files.newDirectoryStream(d)) {
        for (Path program : programs) {
          String n = program.getFileName().toString();
          if (n.equals("mvn") || n.equals("mvnw") || n.equals("java")
              || Files.exists(bin.resolve(n), java.nio.file.LinkOption.NOFOLLOW_LINKS)
              || !Files.isExecutable(program)) {
            continue;
          }
          Files.createSymbolicLink(bin.resolve(n), program.toAbsolutePath());
        }
      }
    }
    return bin;
  }

  @Test
  void tarballHoldsWhatTheInstallSectionPromises() throws Exception {
    assertThat(Files.isExecutable(home.resolve("bin/herd"))).isTrue();
    assertThat(home.resolve("lib/herd.jar")).isRegularFile();
    assertThat(Files.readString(home.resolve("LICENSE"))).contains("Apache License");
    assertThat(home.resolve("README.md")).isRegularFile();
    assertThat(home.resolve("examples/systemd/herd.service")).isRegularFile();
    assertThat(home.resolve("examples/python-repl/herd.yaml")).isRegularFile();
    assertThat(home.resolve("completion/herd.bash")).isRegularFile();
    // The PATH of these tests really lacks Maven and java.
    assertThat(run(List.of("sh", "-c", "command -v mvn || command -v java"), env, home))
        .isNotZero();
  }

  @Test
  void versionAndValidateRunWithoutMaven() throws Exception {
    Path out = tmp.resolve("version.out");
    assertThat(run(List.of(home.resolve("bin/herd").toString(), "--version"), env, home, out))
        .isZero();
    assertThat(Files.readString(out)).startsWith("herd ");

    assertThat(run(List.of(home.resolve("bin/herd").toString(), "validate", "--config",
        "examples/python-repl/herd.yaml"), env, home)).isZero();
    assertThat(run(List.of(home.resolve("bin/herd").toString(), "validate"), env, home))
        .as("usage error").isEqualTo(2);
  }

  @Test
  void linkedLauncherFindsItsLib() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("herd-link"), home.resolve("bin/herd"));
    assertThat(run(List.of(link.toString(), "--version"), env, tmp)).isZero();
  }

  @Test
  void demoServesARequestAndStopsOnSigtermLeavingNothing() throws Exception {
    List<String> argv = List.of(home.resolve("bin/herd").toString(), "serve",
        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
    try (HerdProcess herd = HerdProcess.launch(argv, env)) {
      String base = herd.awaitServing(Duration.ofSeconds(90));
      assertThat(get(base + "/counter", "X-Session-ID", "alice").body())
          .contains("\"counter\":1");
      assertThat(herd.descendants()).isNotEmpty();
      assertThat(herd.terminate(Duration.ofSeconds(30))).as(herd.transcript()).isZero();
      assertThat(herd.transcript()).contains("herd stopped")
          .doesNotContain("timer tasks pending");
      assertThat(herd.survivors()).isEmpty();
    }
  }

  @Test
  void completionCompletesSubcommands() throws Exception {
    Path out = tmp.resolve("completion.out");
    String script = "source '" + home.resolve("completion/herd.bash") + "'"
        + " && COMP_WORDS=(herd se) && COMP_CWORD=1 && _complete_herd"
        + " && echo \"${COMPREPLY[@]}\"";
    assertThat(run(List.of("bash", "-c", script), env, home, out)).isZero();
    assertThat(Files.readString(out)).contains("serve");
  }

  @Test
  void systemdUnitVerifies() throws Exception {
    Path analyze = Path.of("/usr/bin/systemd-analyze");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(analyze),
        "systemd-analyze is not installed");
    // The unit as installed, but pointing at this unpacked copy instead of /opt/herd.
    String unit = Files.readString(home.resolve("examples/systemd/herd.service"))
        .replace("/opt/herd", home.toString());
    Path copy = Files.createDirectory(tmp.resolve("units")).resolve("herd.service");
    Files.writeString(copy, unit, StandardCharsets.UTF_8);
    Path out = tmp.resolve("verify.out");
    int code = run(List.of(analyze.toString(), "verify", copy.toString()), Map.of(), tmp, out);
    assertThat(code).as(Files.readString(out)).isZero();
    assertThat(Files.readString(out)).as("warnings about the unit").doesNotContain("herd.service");
  }

  private static int run(List<String> argv, Map<String, String> environment, Path dir)
      throws Exception {
    return run(argv, environment, dir, tmp.resolve("last.out"));
  }

  private static int run(List<String> argv, Map<String, String> environment, Path dir, Path out)
      throws Exception {
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(out.toFile());
    if (!environment.isEmpty()) {
      pb.environment().clear();
      pb.environment().putAll(environment);
    }
    Process p = pb.start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        throw new AssertionError(argv + " did not exit within 60 s: " + Files.readString(out));
      }
      return p.exitValue();
    } finally {
      p.destroyForcibly();
    }
  }
}
