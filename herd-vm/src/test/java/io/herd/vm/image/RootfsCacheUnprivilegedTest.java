package io.herd.vm.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.core.HerdException;
import io.herd.testkit.OciImageBuilder;
import io.herd.testkit.ReadableCopy;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/**
 * A gateway need not run as root: then it cannot chown, must drop setuid bits, and is itself
 * locked out by the modes an image gives its directories (0000, 0300, 0500) — unless it applies
 * them last and undoes them before deleting. Run as root, this test forks {@link
 * UnprivilegedUnpack} as {@code nobody} (65534) with {@code setpriv}; otherwise it is skipped,
 * since a non-root JVM runs the same code paths in every other test.
 */
class RootfsCacheUnprivilegedTest {

  private static final int NOBODY = 65534;

  @Test
  void anUnprivilegedGatewayUnpacksAndRemovesTreesThatLockItsOwnerOut() throws Exception {
    assumeTrue(RootfsCacheTest.isRoot(), "forking as nobody needs root");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
    Path work =
        Files.createTempDirectory(
            "herd-unprivileged-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.setAttribute(work, "unix:uid", NOBODY);
    Process p = null;
    try {
      List<String> argv = new ArrayList<>();
      argv.add("/usr/bin/setpriv");
      argv.add("--reuid=" + NOBODY);
      argv.add("--regid=" + NOBODY);
      argv.add("--clear-groups");
      argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      argv.add("-cp");
      argv.add(classPath());
      argv.add(UnprivilegedUnpack.class.getName());
      argv.add(work.toString());
      p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("output:%n%s", output).isZero();
      assertThat(output).contains("ok: only rootfs is left");
    } finally {
      if (p != null) {
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      RecursiveDelete.delete(work);
    }
  }

  /** Readable copies of where the classes the child needs were loaded from. */
  private static String classPath() throws URISyntaxException {
    List<String> entries = new ArrayList<>();
    for (Class<?> c :
        List.of(
            UnprivilegedUnpack.class,
            OciImage.class,
            OciImageBuilder.class,
            HerdException.class,
            TarArchiveInputStream.class,
            org.apache.commons.io.IOUtils.class,
            org.apache.commons.lang3.StringUtils.class,
            ObjectMapper.class,
            JsonParser.class,
            JsonAutoDetect.class,
            org.slf4j.Logger.class)) {
      Path where = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
      String readable = ReadableCopy.of(where).toString();
      if (!entries.contains(readable)) {
        entries.add(readable);
      }
    }
    return String.join(File.pathSeparator, entries);
  }
}
