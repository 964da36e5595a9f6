package io.herd.server.config;

/**
 * One thing wrong (or worth a warning) in a configuration file, where it is and what is allowed.
 * Immutable.
 *
 * @param file the file name as the user gave it, e.g. {@code herd.yaml}
 * @param line the 1-based line, or 0 when the problem has no line (a missing section)
 * @param message shaped {@code <key> <problem>: <value> (expected: <constraint>)}
 */
public record ConfigProblem(String file, int line, String message) {

  /** {@code herd.yaml:7: pool.max is too small: 0 (expected: >= 1)}, as compilers print. */
  @Override
  public String toString() {
    return line > 0 ? file + ":" + line + ": " + message : file + ": " + message;
  }
}
