package io.herd.vm.qemu;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * The files of one {@link VmWorkerFactory} under {@code <cacheDir>/run/<jvm pid>-<n>/}: template
 * snapshots ({@code template-N/ram}, {@code template-N/state}) and suspended sessions ({@code
 * suspended/*.state}). Created with the factory, deleted at its close; what a dead gateway left
 * (its pid no longer runs) is deleted when the next factory starts.
 *
 * <p>Permissions, for workers under UIDs of their own (a root gateway's sandbox): {@code run/} and
 * the factory and template directories are 0711 (searchable, not listable), a template's state
 * 0644, and its RAM file 0666, because QEMU 7.2 opens a memory-backend file read-write even when
 * it maps it private. The consequence: code that escapes a guest into its QEMU process (and so
 * learns the path from QEMU's command line) can rewrite the template's RAM, which every clone of
 * that template reads for the pages it has not written yet. Clones of one image are one trust
 * domain; with {@code worker.vm.snapshots: false} every VM boots from the read-only initramfs
 * instead. {@code suspended/} is 0700: a session's saved memory is readable by the gateway only.
 *
 * <p>Stateless helpers; thread-safe.
 */
final class VmFiles {

  private VmFiles() {}

  /** Creates {@code dir} (and parents) and sets its mode, e.g. {@code rwx--x--x}. */
  static Path directory(Path dir, String mode) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
    return dir;
  }

  /** Creates {@code file} of {@code size} bytes (sparse) with {@code mode}. */
  static Path sizedFile(Path file, long size, String mode) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(size);
    }
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
    return file;
  }

  /** Moves {@code from} to {@code to} (copying across file systems), owned by us, with mode. */
  static long moveIn(Path from, Path to, String mode) throws IOException {
    Files.move(from, to);
    if ("root".equals(System.getProperty("user.name"))) {
      Files.setOwner(to, Files.getOwner(to.getParent())); // written by a worker's UID
    }
    Files.setPosixFilePermissions(to, PosixFilePermissions.fromString(mode));
    return Files.size(to);
  }

  /** Deletes {@code root} and everything under it; a missing one is fine. */
  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** Deletes the directories under {@code runRoot} named {@code <pid>-<n>} whose pid is gone. */
  static void sweepDead(Path runRoot) throws IOException {
    if (!Files.isDirectory(runRoot)) {
      return;
    }
    try (Stream<Path> dirs = Files.list(runRoot)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        String name = dir.getFileName().toString();
        int dash = name.indexOf('-');
        if (dash <= 0) {
          continue;
        }
        try {
          long pid = Long.parseLong(name.substring(0, dash));
          if (ProcessHandle.of(pid).isEmpty()) {
            deleteTree(dir);
          }
        } catch (NumberFormatException | NoSuchFileException e) {
          // not ours, or deleted meanwhile
        }
      }
    }
  }
}
