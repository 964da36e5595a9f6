package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One worker's private scratch directory, {@code <sandbox.workdirRoot>/herd-<jvm pid>-<n>-<id>}:
 * its {@code $HOME} and {@code $HERD_WORKDIR} (and {@code {{workdir}}}), with a {@code tmp}
 * subdirectory that is {@code $TMPDIR} and, with a mount namespace, the worker's {@code /tmp} and
 * {@code /var/tmp}. Mode 0700, owned by the worker's UID; the root holding them is 0711 when the
 * JVM runs as root (workers may pass through to their own directory, but not list the others')
 * and 0700 otherwise.
 *
 * <p>Lifetime: {@link #create} before the worker starts, {@link #delete} after it exited (and,
 * after a gateway's SIGKILL, {@link StaleSandboxSweep} at the next gateway's start). Stateless
 * helpers; thread-safe.
 */
final class ScratchDirectory {

  private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> PASS_THROUGH =
      PosixFilePermissions.fromString("rwx--x--x");

  private ScratchDirectory() {}

  /**
   * Creates {@code root/name} and its {@code tmp}, owned by {@code uid} (or by the JVM's user
   * when {@code uid < 0}).
   *
   * @throws IOException when the root is unsafe (a symbolic link, another owner, writable by
   *     others) or a directory cannot be created
   */
  static Path create(Path root, String name, int uid) throws IOException {
    ensureRoot(root);
    Path dir = root.resolve(name);
    Path tmp = dir.resolve("tmp");
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
      Files.createDirectory(tmp, PosixFilePermissions.asFileAttribute(PRIVATE));
      Files.setPosixFilePermissions(dir, PRIVATE);
      Files.setPosixFilePermissions(tmp, PRIVATE);
      if (uid >= 0) {
        for (Path p : new Path[] {tmp, dir}) {
          Files.setAttribute(p, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        }
      }
    } catch (IOException | RuntimeException e) {
      delete(dir);
      throw e;
    }
    return dir;
  }

  /** {@code $TMPDIR} inside a scratch directory. */
  static Path tmp(Path scratch) {
    return scratch.resolve("tmp");
  }

  /**
   * Deletes the directory and everything in it, without following symbolic links a worker may
   * have left (a link to /etc is removed, not walked).
   *
   * @return whether nothing is left
   */
  static boolean delete(Path dir) {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
      return true;
    } catch (IOException | java.io.UncheckedIOException e) {
      return false;
    }
  }

  private static void ensureRoot(Path root) throws IOException {
    int me = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    Set<PosixFilePermission> mode = me == 0 ? PASS_THROUGH : PRIVATE;
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      Path parent = root.getParent();
      if (parent != null && !Files.isDirectory(parent)) {
        Files.createDirectories(parent); // e.g. /var/lib/herd: 0755 under the usual umask
      }
      try {
        Files.createDirectory(root, PosixFilePermissions.asFileAttribute(mode));
        Files.setPosixFilePermissions(root, mode);
      } catch (FileAlreadyExistsException e) {
        // made meanwhile by another pool: checked below
      }
    }
    if (Files.isSymbolicLink(root)) {
      throw new IOException("sandbox.workdirRoot " + root + " is a symbolic link (expected: a"
          + " real directory; remove the link or choose another sandbox.workdirRoot)");
    }
    int owner = (Integer) Files.getAttribute(root, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    Set<PosixFilePermission> actual = Files.getPosixFilePermissions(root);
    if (owner != me || actual.contains(PosixFilePermission.GROUP_WRITE)
        || actual.contains(PosixFilePermission.OTHERS_WRITE)
        || actual.contains(PosixFilePermission.OTHERS_READ)) {
      throw new IOException("sandbox.workdirRoot " + root + " is owned by uid " + owner
          + " with mode " + PosixFilePermissions.toString(actual) + " (expected: owned by uid "
          + me + ", mode " + PosixFilePermissions.toString(mode) + ", so that workers cannot"
          + " list or replace each other's directories; fix it or choose another"
          + " sandbox.workdirRoot)");
    }
  }
}
