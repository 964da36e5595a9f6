package io.herd.server.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed YAML document that remembers where each value was written, so that every problem
 * found while binding can name its line. Scalars keep their text: they are typed only when bound,
 * against the type their key expects, after environment references were resolved.
 *
 * <p>Immutable and thread-safe. Lives while one configuration file is loaded.
 */
public sealed interface ConfigNode permits ConfigNode.MapNode, ConfigNode.ListNode,
    ConfigNode.ScalarNode {

  /** The 1-based line the value starts on. */
  int line();

  /** What the node is, for type errors: {@code a mapping}, {@code a list}, {@code a scalar}. */
  String kind();

  /** A mapping; {@code entries} keep the order of the file. */
  record MapNode(Map<String, Entry> entries, int line) implements ConfigNode {
    public MapNode {
      entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    }

    /** An empty mapping at {@code line}: what an absent section binds from. */
    public static MapNode empty(int line) {
      return new MapNode(Map.of(), line);
    }

    @Override
    public String kind() {
      return "a mapping";
    }
  }

  /** One key of a mapping and its value. */
  record Entry(String key, int keyLine, ConfigNode value) {}

  /** A sequence. */
  record ListNode(List<ConfigNode> items, int line) implements ConfigNode {
    public ListNode {
      items = List.copyOf(items);
    }

    @Override
    public String kind() {
      return "a list";
    }
  }

  /**
   * A scalar as written (environment references still as placeholders); {@code text} is null for
   * YAML's null ({@code ~}, {@code null} or nothing after the colon).
   */
  record ScalarNode(String text, int line) implements ConfigNode {
    public boolean isNull() {
      return text == null;
    }

    @Override
    public String kind() {
      return isNull() ? "null" : "a scalar";
    }
  }
}
