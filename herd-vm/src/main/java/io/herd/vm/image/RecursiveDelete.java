package io.herd.vm.image;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * Deletes a file or a directory tree without following symlinks: a symlink is removed, never what
 * it points to. Directories an image made read-only (mode 0555) are made writable first, so that
 * an unpacker not running as root can remove what it built.
 */
final class RecursiveDelete {

  private static final Set<PosixFilePermission> OWNER_ALL =
      EnumSet.of(
          PosixFilePermission.OWNER_READ,
          PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE);

  private RecursiveDelete() {}

  /** Deletes {@code path} and, when it is a real directory, everything under it; absent is fine. */
  static void delete(Path path) throws IOException {
    BasicFileAttributes attrs = RootfsResolver.lstat(path);
    if (attrs == null) {
      return;
    }
    if (!attrs.isDirectory()) {
      Files.delete(path);
      return;
    }
    Files.walkFileTree(
        path,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a)
              throws IOException {
            // The walk does not follow links, so dir is a real directory inside the tree.
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
            if (!perms.containsAll(OWNER_ALL)) {
              perms.addAll(OWNER_ALL);
              Files.setPosixFilePermissions(dir, perms);
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            if (e instanceof NoSuchFileException) {
              return FileVisitResult.CONTINUE;
            }
            // The walk opens a directory before preVisitDirectory: an unreadable one fails here.
            BasicFileAttributes a = RootfsResolver.lstat(file);
            if (e instanceof AccessDeniedException && a != null && a.isDirectory()) {
              Files.setPosixFilePermissions(file, OWNER_ALL);
              delete(file);
              return FileVisitResult.CONTINUE;
            }
            throw e;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
