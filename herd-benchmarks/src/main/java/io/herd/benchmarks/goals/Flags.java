package io.herd.benchmarks.goals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code --name value} options of a harness program, checked against the names it knows.
 * Immutable once parsed.
 */
final class Flags {

  private final Map<String, String> values;

  private Flags(Map<String, String> values) {
    this.values = values;
  }

  /**
   * Parses args; an unknown option or one without a value is an {@link IllegalArgumentException}.
   */
  static Flags parse(String[] args, String... known) {
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (!List.of(known).contains(name)) {
        throw new IllegalArgumentException("unknown option: " + name + " (expected one of: "
            + String.join(" ", known) + ")");
      }
      if (i + 1 == args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      values.put(name, args[++i]);
    }
    return new Flags(values);
  }

  String string(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  String required(String name) {
    String value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException(name + " is required");
    }
    return value;
  }

  int integer(String name, int fallback) {
    String value = values.get(name);
    try {
      return value == null ? fallback : Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer: " + value, e);
    }
  }
}
