package io.herd.server.config;

import io.herd.core.HerdException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A configuration file cannot be used. Carries every problem found, in file order, so that one
 * run of {@code herd validate} shows everything to fix.
 */
public class InvalidConfigFileException extends HerdException {

  private final List<ConfigProblem> problems;

  public InvalidConfigFileException(List<ConfigProblem> problems) {
    super(problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n")));
    this.problems = List.copyOf(problems);
  }

  /** Every problem, sorted by line. */
  public List<ConfigProblem> problems() {
    return problems;
  }
}
