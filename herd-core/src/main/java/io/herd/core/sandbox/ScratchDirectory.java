package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
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
   * have left (a link to /etc is removed, not walked), however deep the worker nested its
   * directories.
   *
   * <p>Everything is done relative to open directories ({@code openat}, {@code unlinkat}, {@code
   * renameat} through {@link SecureDirectoryStream}), never by path: a tree deeper than {@code
   * PATH_MAX} (4096 bytes: a worker gets there with 2,048 nested one-letter directories) cannot
   * be removed by path at all, and a scratch directory left behind keeps its UID from ever being
   * leased again ({@link UidLeases}). At most {@link #MAX_OPEN_LEVELS} directories are open at
   * once: a directory deeper than that is moved up into {@code dir} under a new name and
   * emptied by a later pass, so neither file descriptors nor the stack grow with the depth.
   *
   * @return whether nothing is left
   */
  static boolean delete(Path dir) {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    Path absolute = dir.toAbsolutePath();
    Path parent = absolute.getParent();
    if (parent == null) {
      return false;
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(parent)) {
      if (!(stream instanceof SecureDirectoryStream<Path> secure)) {
        return deleteByPath(absolute); // not Linux: no *at() system calls through Java
      }
      deleteTree(secure, absolute.getFileName());
      return true;
    } catch (NoSuchFileException e) {
      return !Files.exists(dir, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** At most this many directories of a tree being deleted are open at once. */
  static final int MAX_OPEN_LEVELS = 32;

  private static final SecureRandom RANDOM = new SecureRandom();

  /** Deletes {@code name} in {@code parent}: a file or link, or a directory and its contents. */
  private static void deleteTree(SecureDirectoryStream<Path> parent, Path name)
      throws IOException {
    if (!isDirectory(parent, name)) {
      parent.deleteFile(name);
      return;
    }
    long[] moved = {0};
    for (;;) {
      long progress;
      try (SecureDirectoryStream<Path> top = parent.newDirectoryStream(name,
          LinkOption.NOFOLLOW_LINKS)) {
        progress = empty(top, top, 1, moved);
      }
      try {
        parent.deleteDirectory(name);
        return;
      } catch (DirectoryNotEmptyException e) {
        if (progress == 0) {
          throw e; // nothing could be removed in a whole pass: something keeps it
        }
        // directories moved up from the depths, or entries readdir did not return: next pass
      }
    }
  }

  /**
   * Deletes what {@code dir} holds, {@code level} levels below {@code top}; directories at
   * {@link #MAX_OPEN_LEVELS} are moved into {@code top} instead of being opened.
   *
   * @return how many entries were deleted or moved
   */
  private static long empty(SecureDirectoryStream<Path> top, SecureDirectoryStream<Path> dir,
      int level, long[] moved) throws IOException {
    long progress = 0;
    for (Path entry : dir) {
      Path name = entry.getFileName(); // relative: the *at() calls on dir, never a path lookup
      if (!isDirectory(dir, name)) {
        dir.deleteFile(name);
      } else if (level < MAX_OPEN_LEVELS) {
        try (SecureDirectoryStream<Path> sub = dir.newDirectoryStream(name,
            LinkOption.NOFOLLOW_LINKS)) {
          progress += empty(top, sub, level + 1, moved);
        }
        try {
          dir.deleteDirectory(name);
        } catch (DirectoryNotEmptyException e) {
          continue; // emptied by a later pass of the top directory
        }
      } else {
        moveUp(dir, name, top, moved);
      }
      progress++;
    }
    return progress;
  }

  /**
   * Moves directory {@code name} of {@code dir} into {@code top} under a name the worker could
   * not have guessed (it chose every other name in the tree, e.g. a non-empty directory where a
   * predictable name would go, which would make the rename fail).
   */
  private static void moveUp(SecureDirectoryStream<Path> dir, Path name,
      SecureDirectoryStream<Path> top, long[] moved) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path target = Path.of(".herd-deep-" + Long.toHexString(RANDOM.nextLong()) + "-" + moved[0]++);
      try {
        dir.move(name, top, target);
        return;
      } catch (FileSystemException e) { // the name exists after all
        if (attempt == 2) {
          throw e;
        }
      }
    }
  }

  private static boolean isDirectory(SecureDirectoryStream<Path> dir, Path name)
      throws IOException {
    return dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .readAttributes().isDirectory();
  }

  private static boolean deleteByPath(Path dir) {
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
    int me = HostSupport.effectiveUid();
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
