package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.testkit.ReadableCopy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where and how herd-launch is taken out of the jar: content-addressed, private, verified. */
class LauncherBinaryTest {

  private static final byte[] BINARY = "#!/bin/sh\necho herd-launch: test\n"
      .getBytes(StandardCharsets.US_ASCII);

  @Test
  void extractsUnderAContentHashNameThatOnlyTheOwnerMayRunAndReusesIt(@TempDir Path dir)
      throws Exception {
    Path home = dir.resolve("herd");

    Path first = LauncherBinary.extract(BINARY, home, PosixFilePermissions.fromString("rwx------"));
    Path again = LauncherBinary.extract(BINARY, home, PosixFilePermissions.fromString("rwx------"));

    assertThat(first).isEqualTo(again).hasParent(home);
    assertThat(first.getFileName().toString()).matches("herd-launch-[0-9a-f]{16}");
    assertThat(Files.readAllBytes(first)).isEqualTo(BINARY);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(first)))
        .isEqualTo("r-x------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home)))
        .isEqualTo("rwx------");
    try (var files = Files.list(home)) {
      assertThat(files).as("no temporary file left").containsExactly(first);
    }
  }

  @Test
  void aDamagedCopyIsReplacedAtomically(@TempDir Path dir) throws Exception {
    Path home = dir.resolve("herd");
    Path extracted =
        LauncherBinary.extract(BINARY, home, PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(extracted, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(extracted, "tampered");
    Files.setPosixFilePermissions(extracted, PosixFilePermissions.fromString("r-x------"));

    Path again = LauncherBinary.extract(BINARY, home, PosixFilePermissions.fromString("rwx------"));

    assertThat(again).isEqualTo(extracted);
    assertThat(Files.readAllBytes(again)).isEqualTo(BINARY);
  }

  @Test
  void aDirectoryOthersMayWriteIsRefused(@TempDir Path dir) throws IOException {
    Path shared = Files.createDirectory(dir.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

    assertThatThrownBy(() -> LauncherBinary.extract(BINARY, shared,
        PosixFilePermissions.fromString("rwx------")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("directory " + shared + " is owned by uid")
        .hasMessageContaining("with mode rwxrwxrwx")
        .hasMessageContaining("writable by nobody else");
  }

  @Test
  void aSymbolicLinkInPlaceOfTheDirectoryIsRefused(@TempDir Path dir) throws IOException {
    Path real = Files.createDirectory(dir.resolve("real"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);

    assertThatThrownBy(() -> LauncherBinary.extract(BINARY, link,
        PosixFilePermissions.fromString("rwx------")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is a symbolic link");
  }

  @Test
  void thisJarCarriesALauncherForThisMachineThatRuns() {
    LauncherBinary launcher = LauncherBinary.detect();

    assertThat(launcher.problem()).as("why not").isEmpty();
    assertThat(launcher.path()).get().satisfies(p -> assertThat(Files.isExecutable(p)).isTrue());
  }

  /**
   * A gateway that does not run as root extracts its launcher into its own {@code herd-<uid>}
   * directory. It once took the owner of the {@code /proc/self} link (always root) for its own
   * UID, so a non-root gateway never had a launcher, hence no limits, and was told to remove a
   * directory it would only create again.
   */
  @Test
  void aJvmThatIsNotRootExtractsTheLauncherIntoItsOwnDirectory() throws Exception {
    assumeThat(Files.readAllLines(Path.of("/proc/self/status")))
        .as("root, to run a JVM as another user").contains("Uid:\t0\t0\t0\t0");
    Path setpriv = Stream.of("/usr/bin/setpriv", "/bin/setpriv").map(Path::of)
        .filter(Files::isExecutable).findFirst().orElse(null);
    assumeThat(setpriv).as("setpriv").isNotNull();
    int nobody = 65534;
    Path home = Files.createTempDirectory(Path.of("/run"), "herd-launcher-test-");
    try {
      Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path tmp = Files.createDirectory(home.resolve("tmp"));
      Files.setAttribute(tmp, "unix:uid", nobody);
      Files.setAttribute(tmp, "unix:gid", nobody);
      String classPath = ReadableCopy.of(classesOf(LauncherBinary.class)) + ":"
          + ReadableCopy.of(classesOf(LauncherBinaryMain.class));
      Process child = new ProcessBuilder(setpriv.toString(), "--reuid", "" + nobody, "--regid",
          "" + nobody, "--clear-groups", "--",
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
          "-Djava.io.tmpdir=" + tmp, "-cp", classPath, LauncherBinaryMain.class.getName())
          .directory(home.toFile()).redirectErrorStream(true).start();
      child.getOutputStream().close();
      String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("the child JVM ends").isTrue();

      assertThat(output.trim()).as("what LauncherBinary.detect() says as uid %d", nobody)
          .matches("path " + java.util.regex.Pattern.quote(tmp.resolve("herd-" + nobody)
              .toString()) + "/herd-launch-[0-9a-f]{16}");
    } finally {
      try (Stream<Path> files = Files.walk(home)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static Path classesOf(Class<?> type) throws Exception {
    return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
  }
}
