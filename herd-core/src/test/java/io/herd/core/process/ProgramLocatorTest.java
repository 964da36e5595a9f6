package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.sandbox.Sandbox;
import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgramLocatorTest {

  @TempDir Path dir;

  @Test
  void findsTheFirstExecutableOnThePath() throws Exception {
    Path bin1 = Files.createDirectory(dir.resolve("bin1"));
    Path bin2 = Files.createDirectory(dir.resolve("bin2"));
    file(bin1.resolve("app"), "rw-r--r--");
    Path executable = file(bin2.resolve("app"), "rwxr-xr-x");

    Path found = new ProgramLocator(bin1 + ":" + bin2, dir).locate("app");

    assertThat(found).isEqualTo(executable);
  }

  @Test
  void aWorkerUidSkipsWhatItCouldNotRunAsItsOwnExecvpWould() throws Exception {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path privateBin = Files.createDirectory(dir.resolve("root-only"));
    Files.setPosixFilePermissions(privateBin, PosixFilePermissions.fromString("rwx------"));
    Path publicBin = Files.createDirectory(dir.resolve("usr-bin"));
    Files.setPosixFilePermissions(publicBin, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path shim = file(privateBin.resolve("python3"), "rwxr-xr-x");
    Path system = file(publicBin.resolve("python3"), "rwxr-xr-x");
    ProgramLocator locator = new ProgramLocator(privateBin + ":" + publicBin, dir);

    assertThat(locator.locate("python3")).as("the gateway's own lookup").isEqualTo(shim);
    assertThat(locator.locate("python3", Sandbox::othersCanRun))
        .as("a leased UID cannot enter " + privateBin).isEqualTo(system);
    assertThat(new ProgramLocator(privateBin.toString(), dir).locate("python3",
        Sandbox::othersCanRun)).as("nothing usable: the first match, for the access check to"
        + " name").isEqualTo(shim);
  }

  @Test
  void missingProgramNamesThePathAndTheFix() {
    assertThatThrownBy(() -> new ProgramLocator("/nowhere:/none", dir).locate("app"))
        .isInstanceOf(FileNotFoundException.class)
        .hasMessage("program 'app' was not found on PATH=/nowhere:/none (expected: an executable"
            + " file on the PATH; install it, or set worker.command to its absolute path)");
  }

  @Test
  void relativePathResolvesAgainstTheWorkdir() throws Exception {
    Path executable = file(Files.createDirectory(dir.resolve("bin")).resolve("app"), "rwx------");

    assertThat(new ProgramLocator("", dir).locate("./bin/app")).isEqualTo(executable);
    assertThatThrownBy(() -> new ProgramLocator("", dir).locate("bin/other"))
        .hasMessageContaining("program 'bin/other' does not exist (resolved to "
            + dir.resolve("bin/other") + ")");
  }

  @Test
  void directoryIsNotAProgram() {
    assertThatThrownBy(() -> new ProgramLocator("", dir).locate(dir.toString()))
        .hasMessageContaining("is not a regular file");
  }

  private static Path file(Path path, String permissions) throws Exception {
    Files.writeString(path, "#!/bin/sh\n");
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
    return path;
  }
}
