package io.herd.core;

import java.util.List;

/**
 * A configuration object was built with values that cannot work. Lists every problem at once, each
 * shaped {@code <key> <problem>: <value> (expected: <constraint>)}.
 */
public class InvalidConfigException extends HerdException {

  private final List<String> problems;

  public InvalidConfigException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Every problem found, in the order the fields were checked. */
  public List<String> problems() {
    return problems;
  }
}
