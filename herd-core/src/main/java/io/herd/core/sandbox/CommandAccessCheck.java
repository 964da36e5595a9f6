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

/**
 * Finds the files a worker command names that a worker under its own unprivileged UID could not
 * use, because only the gateway's user (typically root) may: an interpreter installed under
 * {@code /root}, a script in a 0700 directory. Such a worker would fail with "permission denied"
 * at every spawn, so {@code herd validate} warns beforehand.
 *
 * <p>Checks what "others" may do, since a leased UID is neither the owner nor in the group of
 * anything: every directory on the way needs {@code o+x}, the file {@code o+r} (and {@code o+x}
 * for the program). Arguments are taken as paths when absolute, and split at {@code :} so that
 * class paths are covered. Stateless and thread-safe.
 */
final class CommandAccessCheck {

  List<String> warnings(List<String> command) {
    Set<String> warnings = new LinkedHashSet<>();
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
          check(candidate, i == 0, warnings);
        }
      }
    }
    return new ArrayList<>(warnings);
  }

  private static void check(String text, boolean program, Set<String> warnings) {
    Path path;
    try {
      path = Path.of(text);
    } catch (InvalidPathException e) {
      return;
    }
    if (!Files.exists(path)) {
      return;
    }
    for (Path dir = path.getParent(); dir != null; dir = dir.getParent()) {
      if (!othersMay(dir, PosixFilePermission.OTHERS_EXECUTE)) {
        warnings.add("sandbox.uid is isolated but worker.command uses " + path
            + ", which a worker UID cannot reach: " + dir + " is not searchable by others"
            + " (expected: chmod o+x " + dir + ", or install the file elsewhere)");
        return;
      }
    }
    if (Files.isDirectory(path)) {
      return;
    }
    boolean readable = othersMay(path, PosixFilePermission.OTHERS_READ);
    boolean runnable = !program || othersMay(path, PosixFilePermission.OTHERS_EXECUTE);
    if (!readable || !runnable) {
      warnings.add("sandbox.uid is isolated but worker.command uses " + path
          + ", which a worker UID cannot " + (readable ? "run" : "read")
          + " (expected: chmod o+" + (readable ? "x" : "r") + " " + path + ")");
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
