package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
}
