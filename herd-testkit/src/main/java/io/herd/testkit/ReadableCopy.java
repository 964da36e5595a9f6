package io.herd.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Copies of files (the testkit jar, a classes directory) that a worker under any UID can read:
 * tests run as root from checkouts that may sit inside a mode-700 directory, where a worker under
 * a leased UID could not read them. The copies live in {@code /run/herd-testkit-<jvm pid>} (mode
 * 0755, files 0644/0755): not under {@code /tmp}, {@code /var/tmp} or {@code /dev/shm}, which
 * sandboxed workers get private copies of. A shutdown hook deletes the directory; directories of
 * test JVMs that died without running it are deleted by the next JVM that makes a copy.
 *
 * <p>Under a JVM that does not run as root, workers run as its user and read the original:
 * {@link #of} returns the path unchanged. Thread-safe; one copy per path and JVM.
 */
public final class ReadableCopy {

  private static final Path PARENT = Path.of("/run");
  private static final String PREFIX = "herd-testkit-";
  private static final Map<Path, Path> COPIES = new ConcurrentHashMap<>();
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private ReadableCopy() {}

  /** A copy of {@code original} readable by every UID, or {@code original} when not root. */
  public static Path of(Path original) {
    if (!isRoot() || !Files.isDirectory(PARENT)) {
      return original;
    }
    return COPIES.computeIfAbsent(original.toAbsolutePath().normalize(), ReadableCopy::copy);
  }

  /** The directory the copies of this JVM go to. */
  static Path directory() {
    return PARENT.resolve(PREFIX + ProcessHandle.current().pid());
  }

  private static Path copy(Path original) {
    try {
      Path dir = Holder.DIRECTORY;
      Path target = dir.resolve(SEQUENCE.incrementAndGet() + "-" + original.getFileName());
      if (Files.isDirectory(original)) {
        try (Stream<Path> files = Files.walk(original)) {
          for (Path source : files.toList()) {
            Path copy = target.resolve(original.relativize(source).toString());
            if (Files.isDirectory(source)) {
              Files.createDirectories(copy);
              Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rwxr-xr-x"));
            } else {
              Files.copy(source, copy, StandardCopyOption.REPLACE_EXISTING);
              Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
            }
          }
        }
      } else {
        Files.copy(original, target, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + original + " where workers can read it", e);
    }
  }

  private static Path createDirectory() throws IOException {
    sweepDead();
    Path dir = directory();
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "herd-testkit-cleanup"));
    return dir;
  }

  /**
   * Deletes the copies of the test JVM {@code pid}, which must have exited: for tests that
   * SIGKILL a JVM of their own (its shutdown hook never runs), so that nothing is left behind.
   */
  public static void deleteCopiesOf(long pid) {
    if (ProcessHandle.of(pid).isEmpty()) {
      delete(PARENT.resolve(PREFIX + pid));
    }
  }

  private static void sweepDead() {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PARENT, PREFIX + "*")) {
      for (Path dir : dirs) {
        try {
          long pid = Long.parseLong(dir.getFileName().toString().substring(PREFIX.length()));
          if (ProcessHandle.of(pid).isEmpty()) {
            delete(dir);
          }
        } catch (NumberFormatException e) {
          // not ours
        }
      }
    } catch (IOException e) {
      // nothing to sweep
    }
  }

  private static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      // best effort: the next JVM sweeps it
    }
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Creates the directory on first use only. */
  private static final class Holder {
    static final Path DIRECTORY;

    static {
      try {
        DIRECTORY = createDirectory();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create " + directory(), e);
      }
    }
  }
}
