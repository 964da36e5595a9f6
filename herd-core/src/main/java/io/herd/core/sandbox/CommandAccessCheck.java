package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Finds the files a worker command names that a worker under its own unprivileged UID could not
 * use, because only the gateway's user (typically root) may: an interpreter installed under
 * {@code /root}, a class path inside a checkout in a 0700 directory, a working directory nobody
 * else may enter. {@code herd validate} prints them as warnings ({@link SandboxConfig#warnings});
 * at spawn time they fail the start with the worker's UID in the message ({@link #check}), since
 * the worker would only die with "permission denied" or a puzzling exit code.
 *
 * <p>Checks what "others" may do, since a leased UID is neither the owner nor in the group of
 * anything: every directory on the way needs {@code o+x}, the file {@code o+r} (and {@code o+x}
 * for the program). Arguments are taken as paths when absolute (also after {@code NAME=}), and
 * split at {@code :} so that class paths are covered; paths that do not exist are skipped (they
 * may be created by the worker). Stateless and thread-safe.
 */
final class CommandAccessCheck {

  private CommandAccessCheck() {}

  /**
   * One sentence per unusable file, e.g. {@code worker.command uses /root/app.py, which a worker
   * UID cannot reach: /root is not searchable by others (expected: chmod o+x /root, or move the
   * file to a directory others can enter)}.
   *
   * @param workdir the worker's working directory, checked too; null for none
   */
  static List<String> problems(List<String> command, Path workdir) {
    Set<String> problems = new LinkedHashSet<>();
    if (workdir != null) {
      check(workdir, false, "worker.workdir is", problems);
    }
    forEachNamedPath(command, (index, path) ->
        check(path, index == 0, "worker.command uses", problems));
    return new ArrayList<>(problems);
  }

  /**
   * The existing files and directories {@code command} names: its absolute arguments, also
   * after {@code NAME=} and split at {@code :} (class paths), in order, without duplicates.
   */
  static List<Path> namedPaths(List<String> command) {
    Set<Path> paths = new LinkedHashSet<>();
    forEachNamedPath(command, (index, path) -> {
      if (Files.exists(path)) {
        paths.add(path);
      }
    });
    return new ArrayList<>(paths);
  }

  /**
   * Calls {@code action} with each argument's index and each path it names: the argument when
   * absolute, the value after {@code NAME=} when that is, each such part of a {@code :} list.
   */
  private static void forEachNamedPath(List<String> command, BiConsumer<Integer, Path> action) {
    for (int i = 0; i < command.size(); i++) {
      String arg = command.get(i);
      if (arg == null) {
        continue;
      }
      for (String part : arg.split(":")) {
        int eq = part.indexOf('=');
        String candidate = part.startsWith("/") ? part
            : eq > 0 && part.startsWith("/", eq + 1) ? part.substring(eq + 1) : null;
        if (candidate != null) {
          try {
            action.accept(i, Path.of(candidate));
          } catch (InvalidPathException e) {
            // not a path after all
          }
        }
      }
    }
  }

  /**
   * Fails when the worker about to run as {@code uid} could not use its program, the files its
   * arguments name or its working directory.
   *
   * @throws IOException saying which path, which UID and how to fix it
   */
  static void check(List<String> command, Path workdir, int uid) throws IOException {
    List<String> problems = problems(command, workdir);
    if (!problems.isEmpty()) {
      throw new IOException("the worker's UID " + uid + " (sandbox.uid) cannot use what its"
          + " command needs: " + String.join("; ", problems));
    }
  }

  private static void check(Path path, boolean program, String prefix, Set<String> problems) {
    if (!Files.exists(path)) {
      return;
    }
    for (Path dir = path.getParent(); dir != null; dir = dir.getParent()) {
      if (!othersMay(dir, PosixFilePermission.OTHERS_EXECUTE)) {
        problems.add(prefix + " " + path + ", which a worker UID cannot reach: " + dir
            + " is not searchable by others (expected: chmod o+x " + dir + ", or "
            + (prefix.startsWith("worker.workdir") ? "set worker.workdir to a directory others"
                + " can enter" : "move it to a directory others can enter, e.g. under /opt or"
                + " /srv") + ")");
        return;
      }
    }
    if (Files.isDirectory(path)) {
      if (!othersMay(path, PosixFilePermission.OTHERS_EXECUTE)) {
        problems.add(prefix + " " + path + ", which a worker UID cannot enter (expected: chmod"
            + " o+rx " + path + ")");
      }
      return;
    }
    boolean readable = othersMay(path, PosixFilePermission.OTHERS_READ);
    boolean runnable = !program || othersMay(path, PosixFilePermission.OTHERS_EXECUTE);
    if (!readable || !runnable) {
      problems.add(prefix + " " + path + ", which a worker UID cannot "
          + (readable ? "run" : "read") + " (expected: chmod o+" + (readable ? "x" : "r") + " "
          + path + ")");
    }
  }

  private static boolean othersMay(Path path, PosixFilePermission permission) {
    try {
      return Files.getPosixFilePermissions(path).contains(permission);
    } catch (IOException | UnsupportedOperationException e) {
      return true; // cannot tell: do not cry wolf
    }
  }
}
