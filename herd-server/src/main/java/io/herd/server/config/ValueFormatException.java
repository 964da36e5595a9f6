package io.herd.server.config;

/**
 * A value that is not in its syntax, with what is wrong with it as a predicate that completes
 * "{@code pool.ttl} ... {@code : -5s}": {@code is negative}, {@code has no unit}. The loader puts
 * the key, the value and the accepted forms around it.
 */
public final class ValueFormatException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  private final String problem;

  /**
   * @param problem what is wrong, e.g. {@code is negative}
   * @param value the value as written
   */
  public ValueFormatException(String problem, String value) {
    super(value + " " + problem);
    this.problem = problem;
  }

  /** What is wrong, e.g. {@code is negative}. */
  public String problem() {
    return problem;
  }
}
