package io.herd.core;

import java.util.Objects;

/**
 * One invalid field of a configuration object, as data: which field, the value it was given, what
 * is wrong and what would be right. Configuration objects of every module report their problems
 * this way ({@link InvalidConfigException#fieldProblems()}), so that a front end can point at the
 * place the value came from (a YAML file's line, a command-line flag) without parsing messages.
 *
 * <p>{@code field} is the library's dotted name of the setting, e.g. {@code pool.max} or {@code
 * worker.env.PORT}; a front end maps it to its own names. Immutable.
 *
 * @param field the setting, e.g. {@code pool.max}
 * @param value the offending value as text ({@code "null"} when missing)
 * @param problem what is wrong, e.g. {@code "is too small"}
 * @param expected the constraint a valid value meets, e.g. {@code ">= 1"}
 */
public record FieldProblem(String field, String value, String problem, String expected) {

  public FieldProblem {
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(problem, "problem");
    Objects.requireNonNull(expected, "expected");
  }

  /** A problem with {@code value} shown through {@link String#valueOf(Object)}. */
  public static FieldProblem of(String field, Object value, String problem, String expected) {
    return new FieldProblem(field, String.valueOf(value), problem, expected);
  }

  /** This problem for another field name: how a front end renames library fields. */
  public FieldProblem withField(String newField) {
    return new FieldProblem(newField, value, problem, expected);
  }

  /**
   * The house message shape: {@code <field> <problem>: <value> (expected: <expected>)}, e.g.
   * {@code pool.max is too small: 0 (expected: >= 1)}.
   */
  public String message() {
    return field + " " + problem + ": " + value + " (expected: " + expected + ")";
  }

  @Override
  public String toString() {
    return message();
  }
}
