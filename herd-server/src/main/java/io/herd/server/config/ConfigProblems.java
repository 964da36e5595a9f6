package io.herd.server.config;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Collects the problems of one configuration file while it is bound, each with its line: errors
 * found by the binder itself, and the messages of the library's own validation ({@code
 * PoolConfig}, {@code ProcessWorkerConfig}, {@code GatewayOptions}), whose leading key is looked
 * up in the parsed tree to find the line it was written on.
 *
 * <p>Not thread-safe: one loader fills it on one thread. Lives for one load.
 */
final class ConfigProblems {

  private final String file;
  private final ConfigNode.MapNode root;
  private final List<ConfigProblem> errors = new ArrayList<>();
  private final List<ConfigProblem> warnings = new ArrayList<>();
  /** Keys with a binding error: the library's complaint about the default used instead is noise. */
  private final Set<String> keysWithErrors = new HashSet<>();
  /**
   * Prefixed to the keys of library messages and {@link #errorAt} while one entry of {@code
   * pools:} is bound ({@code pools[1].}), so {@code pool.max} is reported where that entry has it.
   */
  private String scope = "";

  ConfigProblems(String file, ConfigNode.MapNode root) {
    this.file = file;
    this.root = root;
  }

  /** Locates library keys under {@code prefix} ({@code pools[1].}) until reset with "". */
  void scope(String prefix) {
    this.scope = prefix;
  }

  String file() {
    return file;
  }

  void error(String key, int line, String message) {
    keysWithErrors.add(key);
    errors.add(new ConfigProblem(file, line, message));
  }

  void warning(int line, String message) {
    warnings.add(new ConfigProblem(file, line, message));
  }

  /** An error about {@code key}, on the line where it (or its closest parent) is written. */
  void errorAt(String key, String message) {
    String scoped = scope + key;
    error(scoped, lineOf(scoped), scope.isEmpty() || !message.startsWith(key) ? message
        : scope + message);
  }

  /**
   * A problem found by the library's validation: its field is renamed through {@code renames}
   * (library name to YAML name) and located in the file. Skipped when the binder already
   * reported an error for that key (the library then saw a default, and its complaint is noise).
   */
  void library(FieldProblem problem, Map<String, String> renames) {
    String renamed = scope + renames.getOrDefault(problem.field(), problem.field());
    if (keysWithErrors.contains(renamed)) {
      return;
    }
    error(renamed, lineOf(renamed), problem.withField(renamed).message());
  }

  /** Every problem of {@code e}, as {@link #library(FieldProblem, Map)} reports one. */
  void library(InvalidConfigException e, Map<String, String> renames) {
    e.fieldProblems().forEach(p -> library(p, renames));
  }

  boolean hasErrors() {
    return !errors.isEmpty();
  }

  /** The errors, by line. */
  List<ConfigProblem> errors() {
    return sorted(errors);
  }

  /** The warnings, by line. */
  List<ConfigProblem> warnings() {
    return sorted(warnings);
  }

  private static List<ConfigProblem> sorted(List<ConfigProblem> problems) {
    List<ConfigProblem> copy = new ArrayList<>(problems);
    copy.sort(Comparator.comparingInt(ConfigProblem::line)); // stable: same line keeps order
    return copy;
  }

  /**
   * The line of {@code path} ({@code pool.max}, {@code worker.command[0]}), or of its closest
   * parent that is written in the file, or 1 when nothing of it is.
   */
  int lineOf(String path) {
    ConfigNode node = root;
    int line = 1;
    for (String segment : path.split("\\.")) {
      String name = segment;
      List<Integer> indexes = new ArrayList<>();
      int bracket = segment.indexOf('[');
      if (bracket >= 0) {
        name = segment.substring(0, bracket);
        for (String idx : segment.substring(bracket + 1).split("\\]\\[?")) {
          try {
            indexes.add(Integer.parseInt(idx.replace("]", "")));
          } catch (NumberFormatException e) {
            return line;
          }
        }
      }
      if (!(node instanceof ConfigNode.MapNode map) || !map.entries().containsKey(name)) {
        return line;
      }
      ConfigNode.Entry entry = map.entries().get(name);
      line = entry.keyLine();
      node = entry.value();
      for (int index : indexes) {
        if (!(node instanceof ConfigNode.ListNode list) || index >= list.items().size()) {
          return line;
        }
        node = list.items().get(index);
        line = node.line();
      }
    }
    return line;
  }
}
