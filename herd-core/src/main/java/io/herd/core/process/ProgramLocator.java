package io.herd.core.process;

import java.io.File;
import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * Finds the executable file that a worker command names, before anything is spawned, so that a
 * typo or a missing install fails with a message that says what to fix instead of an {@code
 * error=2} from deep inside {@link ProcessBuilder}.
 *
 * <p>Follows the rules the JDK uses to start the program: a name without {@code /} is looked up
 * on the JVM's own {@code PATH} (not on {@code worker.env.PATH}, which the JDK ignores for the
 * lookup); a path with {@code /} is taken relative to the worker's working directory. Immutable
 * and thread-safe.
 *
 * <p>When workers run under UIDs of their own, a lookup skips what such a UID could not run, as
 * the worker's own {@code execvp} would: a gateway running as root often has an interpreter
 * installed under {@code /root} first on its {@code PATH} (pyenv, nvm), and the system's one
 * further down is what a worker can use. If nothing on the {@code PATH} is usable, the first match
 * is returned anyway, so that the start fails with the access check's message naming it.
 */
final class ProgramLocator {

  private final String searchPath;
  private final Path workdir;

  /**
   * @param searchPath the {@code PATH} to search, colon-separated; {@code null} means empty
   * @param workdir the worker's working directory, against which relative paths resolve
   */
  ProgramLocator(String searchPath, Path workdir) {
    this.searchPath = searchPath == null ? "" : searchPath;
    // Absolute, because the child changes into workdir before exec: a relative result would
    // then resolve twice.
    this.workdir = workdir.toAbsolutePath();
  }

  /** A locator using the JVM's {@code PATH} and {@code workdir} (the JVM's when null). */
  static ProgramLocator forWorkdir(Path workdir) {
    return new ProgramLocator(
        System.getenv("PATH"), workdir != null ? workdir : Path.of("").toAbsolutePath());
  }

  /**
   * The absolute path of the executable file {@code program} names.
   *
   * @throws FileNotFoundException with a message naming the program, where it was looked for
   *     and how to fix it
   */
  Path locate(String program) throws FileNotFoundException {
    return locate(program, candidate -> true);
  }

  /**
   * As {@link #locate(String)}, preferring on the {@code PATH} the first candidate that {@code
   * usable} accepts (e.g. one a worker's own UID may run).
   */
  Path locate(String program, Predicate<Path> usable) throws FileNotFoundException {
    try {
      return program.indexOf('/') >= 0 ? locatePath(program) : searchPath(program, usable);
    } catch (InvalidPathException e) {
      throw new FileNotFoundException("program '" + program + "' is not a valid path: "
          + e.getMessage() + " (expected: a program name or path)");
    }
  }

  private Path locatePath(String program) throws FileNotFoundException {
    Path file = workdir.resolve(program).normalize();
    String resolved = file.toString().equals(program) ? "" : " (resolved to " + file + ")";
    if (!Files.exists(file)) {
      throw new FileNotFoundException("program '" + program + "' does not exist" + resolved
          + " (expected: an executable file; fix the path in worker.command)");
    }
    if (!Files.isRegularFile(file)) {
      throw new FileNotFoundException("program '" + program + "' is not a regular file" + resolved
          + " (expected: an executable file; fix the path in worker.command)");
    }
    if (!Files.isExecutable(file)) {
      throw new FileNotFoundException("program '" + program + "' is not executable" + resolved
          + " (expected: an executable file; run chmod +x " + file + ")");
    }
    return file;
  }

  private Path searchPath(String program, Predicate<Path> usable)
      throws FileNotFoundException {
    Path notExecutable = null;
    Path unusable = null;
    for (String dir : searchPath.split(File.pathSeparator, -1)) {
      // An empty PATH entry means the current directory, as for execvp(3).
      Path candidate = (dir.isEmpty() ? workdir : workdir.resolve(dir)).resolve(program);
      if (Files.isRegularFile(candidate)) {
        if (Files.isExecutable(candidate)) {
          Path found = candidate.toAbsolutePath();
          if (usable.test(found)) {
            return found;
          }
          if (unusable == null) {
            unusable = found;
          }
          continue;
        }
        if (notExecutable == null) {
          notExecutable = candidate;
        }
      }
    }
    if (unusable != null) {
      return unusable; // the start's access check names it, the UID and the fix
    }
    if (notExecutable != null) {
      throw new FileNotFoundException("program '" + program + "' is not executable: "
          + notExecutable + " (expected: an executable file; run chmod +x " + notExecutable
          + ")");
    }
    throw new FileNotFoundException("program '" + program + "' was not found on PATH="
        + searchPath + " (expected: an executable file on the PATH; install it, or set"
        + " worker.command to its absolute path)");
  }
}
