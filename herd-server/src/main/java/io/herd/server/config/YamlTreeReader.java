package io.herd.server.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads YAML text into a {@link ConfigNode} tree with line numbers, through Jackson's streaming
 * parser (data binding would lose the lines). Duplicate keys are problems, not silent overrides.
 *
 * <p>Stateless and thread-safe.
 */
final class YamlTreeReader {

  private static final YAMLFactory YAML = YAMLFactory.builder().build();

  private YamlTreeReader() {}

  /** The parse result: the root mapping (empty on failure) and its syntax problems. */
  record Result(ConfigNode.MapNode root, List<ConfigProblem> problems) {}

  static Result read(String file, String text) {
    List<ConfigProblem> problems = new ArrayList<>();
    try (JsonParser parser = YAML.createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        return new Result(ConfigNode.MapNode.empty(1), problems); // empty file
      }
      ConfigNode root = readValue(parser, file, "", problems);
      if (root instanceof ConfigNode.MapNode map) {
        return new Result(map, problems);
      }
      if (root instanceof ConfigNode.ScalarNode s && s.isNull()) {
        return new Result(ConfigNode.MapNode.empty(1), problems); // only comments
      }
      problems.add(new ConfigProblem(file, root.line(), "the document is " + root.kind()
          + ": " + describe(root) + " (expected: a mapping of keys such as listen, worker, pool)"));
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      int line = at == null ? 0 : at.getLineNr();
      String what = e.getOriginalMessage();
      if (e.getCause() instanceof MarkedYAMLException marked) {
        // SnakeYAML's own message repeats the source with a caret; keep what and where.
        what = (marked.getContext() == null ? "" : marked.getContext() + ": ")
            + marked.getProblem();
        if (marked.getProblemMark() != null) {
          line = marked.getProblemMark().getLine() + 1;
        }
      }
      problems.add(new ConfigProblem(file, Math.max(line, 0), "the file is not valid YAML: "
          + what.replaceAll("\\s+", " ").strip() + " (expected: YAML 1.1)"));
    } catch (IOException e) {
      problems.add(new ConfigProblem(file, 0, "the file cannot be read: " + e.getMessage()
          + " (expected: a readable YAML file)"));
    }
    return new Result(ConfigNode.MapNode.empty(1), problems);
  }

  private static ConfigNode readValue(
      JsonParser p, String file, String path, List<ConfigProblem> problems) throws IOException {
    int line = p.currentTokenLocation().getLineNr();
    JsonToken token = p.currentToken();
    switch (token) {
      case START_OBJECT: {
        Map<String, ConfigNode.Entry> entries = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          int keyLine = p.currentTokenLocation().getLineNr();
          p.nextToken();
          String childPath = path.isEmpty() ? key : path + "." + key;
          ConfigNode value = readValue(p, file, childPath, problems);
          ConfigNode.Entry previous = entries.get(key);
          if (previous != null) {
            problems.add(new ConfigProblem(file, keyLine, childPath + " is set twice: lines "
                + previous.keyLine() + " and " + keyLine + " (expected: each key once)"));
          } else {
            entries.put(key, new ConfigNode.Entry(key, keyLine, value));
          }
        }
        return new ConfigNode.MapNode(entries, line);
      }
      case START_ARRAY: {
        List<ConfigNode> items = new ArrayList<>();
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
          items.add(readValue(p, file, path + "[" + i++ + "]", problems));
        }
        return new ConfigNode.ListNode(items, line);
      }
      case VALUE_NULL:
        return new ConfigNode.ScalarNode(null, line);
      default:
        return new ConfigNode.ScalarNode(p.getText(), line);
    }
  }

  private static String describe(ConfigNode node) {
    return node instanceof ConfigNode.ScalarNode s ? String.valueOf(s.text()) : node.kind();
  }
}
