package io.herd.core;

import java.util.List;

/**
 * A configuration object was built with values that cannot work. Lists every problem at once, as
 * data ({@link #fieldProblems()}) and as messages shaped {@code <field> <problem>: <value>
 * (expected: <constraint>)} ({@link #problems()}).
 */
public class InvalidConfigException extends HerdException {

  private final List<FieldProblem> fieldProblems;

  /** An exception listing {@code problems}, which must not be empty. */
  public InvalidConfigException(List<FieldProblem> problems) {
    super(join(problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("an invalid configuration has at least one problem");
    }
    this.fieldProblems = List.copyOf(problems);
  }

  /** Every problem found, in the order the fields were checked. */
  public List<FieldProblem> fieldProblems() {
    return fieldProblems;
  }

  /** The messages of {@link #fieldProblems()}, in the same order. */
  public List<String> problems() {
    return fieldProblems.stream().map(FieldProblem::message).toList();
  }

  private static String join(List<FieldProblem> problems) {
    StringBuilder text = new StringBuilder();
    for (FieldProblem p : problems) {
      text.append(text.length() == 0 ? "" : "; ").append(p.message());
    }
    return text.toString();
  }
}
