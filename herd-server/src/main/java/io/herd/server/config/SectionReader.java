package io.herd.server.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Typed reads of one mapping of a configuration file ({@code pool}, {@code worker.health}, the
 * root), for the section binders. Every read names a key, which makes it known; {@link #finish()}
 * then reports each key that nobody read as unknown, with the closest known key as a hint. A
 * value of the wrong type is reported with its line, and the default is used so that binding
 * goes on and every problem of the file is found in one pass.
 *
 * <p>Environment references are resolved on read, so an unset variable is an error only where its
 * value is used. Not thread-safe; lives for one load.
 */
public final class SectionReader {

  private final String path;
  private final ConfigNode.MapNode node;
  private final ConfigProblems problems;
  private final EnvReferences env;
  private final Set<String> known = new LinkedHashSet<>();
  /** Where the section's key is written ({@code pool:}); 1 for the root. */
  private final int line;

  SectionReader(String path, ConfigNode.MapNode node, int line, ConfigProblems problems,
      EnvReferences env) {
    this.path = path;
    this.node = node;
    this.line = line;
    this.problems = problems;
    this.env = env;
  }

  /** The full key path of {@code key} in this section: {@code pool.max}. */
  public String keyOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** The line {@code key} is written on, or this section's line when it is absent. */
  public int lineOf(String key) {
    ConfigNode.Entry e = node.entries().get(key);
    return e == null ? line : e.keyLine();
  }

  /** The line of this section's key. */
  public int line() {
    return line;
  }

  /** Whether {@code key} is present with a non-null value; makes it known. */
  public boolean has(String key) {
    known.add(key);
    ConfigNode.Entry e = node.entries().get(key);
    return e != null && !(e.value() instanceof ConfigNode.ScalarNode s && s.isNull());
  }

  /** Reports an error about {@code key} of this section, on its line. */
  public void error(String key, String message) {
    problems.error(keyOf(key), lineOf(key), message);
  }

  /** Reports a warning about {@code key} of this section, on its line. */
  public void warning(String key, String message) {
    problems.warning(lineOf(key), message);
  }

  /** The file's problems, for library validation messages. */
  ConfigProblems problems() {
    return problems;
  }

  /** The text of scalar {@code key}, environment resolved; empty when absent or null. */
  public Optional<String> string(String key) {
    ConfigNode value = value(key);
    if (value == null) {
      return Optional.empty();
    }
    if (!(value instanceof ConfigNode.ScalarNode scalar)) {
      typeError(key, value, "a string");
      return Optional.empty();
    }
    EnvReferences.Resolved resolved = env.resolve(keyOf(key), scalar.text());
    if (resolved.problem() != null) {
      problems.error(keyOf(key), value.line(), resolved.problem());
      return Optional.empty();
    }
    return Optional.of(resolved.value());
  }

  public String string(String key, String defaultValue) {
    return string(key).orElse(defaultValue);
  }

  public int integer(String key, int defaultValue) {
    return parsed(key, defaultValue, "an integer", "an integer", Integer::parseInt);
  }

  public boolean bool(String key, boolean defaultValue) {
    return parsed(key, defaultValue, "a boolean", "true or false", text -> {
      switch (text.toLowerCase(Locale.ROOT)) {
        case "true":
          return true;
        case "false":
          return false;
        default:
          throw new IllegalArgumentException(text);
      }
    });
  }

  public Duration duration(String key, Duration defaultValue) {
    return optionalDuration(key).orElse(defaultValue);
  }

  public Optional<Duration> optionalDuration(String key) {
    return Optional.ofNullable(
        parsed(key, null, "a duration", DurationFormat.EXPECTED, DurationFormat::parse));
  }

  /** A size in bytes ({@link ByteSizeFormat}), e.g. {@code 512m}, {@code 64MiB}. */
  public long size(String key, long defaultValue) {
    return parsed(key, defaultValue, "a size", ByteSizeFormat.EXPECTED, ByteSizeFormat::parse);
  }

  /** A size that must fit an int, e.g. {@code 16KiB}. */
  public int sizeInt(String key, int defaultValue) {
    long bytes = size(key, defaultValue);
    if (bytes > Integer.MAX_VALUE) {
      error(key, keyOf(key) + " is too large: " + bytes + " bytes (expected: < 2GiB)");
      return defaultValue;
    }
    return (int) bytes;
  }

  public HostPort hostPort(String key, HostPort defaultValue) {
    HostPort hp = parsed(key, defaultValue, "an address", HostPort.EXPECTED, HostPort::parse);
    if (hp != defaultValue) {
      try {
        hp.toSocketAddress();
      } catch (IllegalArgumentException e) {
        error(key, keyOf(key) + " has an unknown host: " + hp.host()
            + " (expected: an IP address or a resolvable host name)");
        return defaultValue;
      }
    }
    return hp;
  }

  /** A list of strings; a lone scalar is refused, since {@code command: python3 app.py} is ambiguous. */
  public List<String> stringList(String key, List<String> defaultValue) {
    return stringList(key, defaultValue, "[python3, app.py, --port, \"{{port}}\"]");
  }

  /**
   * A list of strings, as {@link #stringList(String, List)}; {@code example} is how a valid one
   * is written, for the message when the value is not a list.
   */
  public List<String> stringList(String key, List<String> defaultValue, String example) {
    ConfigNode value = value(key);
    if (value == null) {
      return defaultValue;
    }
    if (!(value instanceof ConfigNode.ListNode list)) {
      typeError(key, value, "a list of strings, e.g. " + example);
      return defaultValue;
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < list.items().size(); i++) {
      ConfigNode item = list.items().get(i);
      String itemKey = keyOf(key) + "[" + i + "]";
      if (!(item instanceof ConfigNode.ScalarNode s) || s.isNull()) {
        problems.error(itemKey, item.line(), itemKey + " is " + item.kind() + ": "
            + describe(item) + " (expected: a string)");
        continue;
      }
      EnvReferences.Resolved resolved = env.resolve(itemKey, s.text());
      if (resolved.problem() != null) {
        problems.error(itemKey, item.line(), resolved.problem());
      } else {
        out.add(resolved.value());
      }
    }
    return out;
  }

  /** A mapping of strings to strings (an environment); null values are reported. */
  public Map<String, String> stringMap(String key) {
    Map<String, String> out = new LinkedHashMap<>();
    ConfigNode value = value(key);
    if (value == null) {
      return out;
    }
    if (!(value instanceof ConfigNode.MapNode map)) {
      typeError(key, value, "a mapping of NAME: value");
      return out;
    }
    map.entries().forEach((name, entry) -> {
      String entryKey = keyOf(key) + "." + name;
      if (!(entry.value() instanceof ConfigNode.ScalarNode s) || s.isNull()) {
        problems.error(entryKey, entry.keyLine(), entryKey + " is " + entry.value().kind() + ": "
            + describe(entry.value()) + " (expected: a string, \"\" if empty)");
        return;
      }
      EnvReferences.Resolved resolved = env.resolve(entryKey, s.text());
      if (resolved.problem() != null) {
        problems.error(entryKey, entry.keyLine(), resolved.problem());
      } else {
        out.put(name, resolved.value());
      }
    });
    return out;
  }

  /** The nested mapping {@code key}; an empty one at this section's line when absent. */
  public SectionReader section(String key) {
    ConfigNode value = value(key);
    int at = lineOf(key);
    if (value == null) {
      return new SectionReader(keyOf(key), ConfigNode.MapNode.empty(at), at, problems, env);
    }
    if (!(value instanceof ConfigNode.MapNode map)) {
      typeError(key, value, "a mapping");
      return new SectionReader(keyOf(key), ConfigNode.MapNode.empty(at), at, problems, env);
    }
    return new SectionReader(keyOf(key), map, at, problems, env);
  }

  /**
   * The list of mappings {@code key} ({@code pools:}), one reader per item named {@code
   * pools[0]}, ...; empty when absent or not a list of mappings (reported).
   */
  public List<SectionReader> sections(String key) {
    ConfigNode value = value(key);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof ConfigNode.ListNode list)) {
      typeError(key, value, "a list of mappings");
      return List.of();
    }
    List<SectionReader> out = new java.util.ArrayList<>();
    for (int i = 0; i < list.items().size(); i++) {
      ConfigNode item = list.items().get(i);
      String itemPath = keyOf(key) + "[" + i + "]";
      if (!(item instanceof ConfigNode.MapNode map)) {
        problems.error(itemPath, item.line(), itemPath + " is " + item.kind() + ": "
            + describe(item) + " (expected: a mapping with name, match, worker, ...)");
        continue;
      }
      out.add(new SectionReader(itemPath, map, item.line(), problems, env));
    }
    return out;
  }

  /** Reports every key of this section that no read asked for. Call once all reads are done. */
  public void finish() {
    node.entries().forEach((key, entry) -> {
      if (known.contains(key)) {
        return;
      }
      String hint = KeySuggestions.closest(key, known);
      String where = path.isEmpty() ? "at the top level" : "in " + path;
      problems.error(keyOf(key), entry.keyLine(), keyOf(key) + " is not a known key"
          + (hint == null ? ": " + key : ": did you mean " + keyOf(hint) + "?")
          + " (expected " + where + ": " + String.join(", ", known) + ")");
    });
  }

  private ConfigNode value(String key) {
    known.add(key);
    ConfigNode.Entry e = node.entries().get(key);
    if (e == null || (e.value() instanceof ConfigNode.ScalarNode s && s.isNull())) {
      return null;
    }
    return e.value();
  }

  private <T> T parsed(String key, T defaultValue, String what, String expected,
      Function<String, T> parser) {
    ConfigNode value = value(key);
    if (value == null) {
      return defaultValue;
    }
    if (!(value instanceof ConfigNode.ScalarNode)) {
      typeError(key, value, expected);
      return defaultValue;
    }
    Optional<String> text = string(key);
    if (text.isEmpty()) {
      return defaultValue; // an environment problem, already reported
    }
    try {
      return parser.apply(text.get().trim());
    } catch (RuntimeException e) {
      String problem = e instanceof ValueFormatException v ? v.problem() : "is not " + what;
      problems.error(keyOf(key), value.line(), keyOf(key) + " " + problem + ": "
          + text.get() + " (expected: " + expected + ")");
      return defaultValue;
    }
  }

  private void typeError(String key, ConfigNode value, String expected) {
    problems.error(keyOf(key), value.line(), keyOf(key) + " is " + value.kind() + ": "
        + describe(value) + " (expected: " + expected + ")");
  }

  private String describe(ConfigNode node) {
    if (node instanceof ConfigNode.ScalarNode s) {
      return String.valueOf(env.written(s.text()));
    }
    if (node instanceof ConfigNode.MapNode m) {
      return "{" + String.join(", ", m.entries().keySet()) + "}";
    }
    return "[" + ((ConfigNode.ListNode) node).items().size() + " items]";
  }
}
