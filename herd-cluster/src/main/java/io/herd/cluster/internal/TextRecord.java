package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The format of the values the cluster stores in etcd: {@code name=value} lines, readable with
 * {@code etcdctl get}. Values never contain a line break (node names, URIs and numbers). Stateless.
 */
final class TextRecord {

  private TextRecord() {}

  static ByteSequence format(Map<String, String> fields) {
    StringBuilder text = new StringBuilder();
    fields.forEach((name, value) -> text.append(name).append('=').append(value).append('\n'));
    return ByteSequence.from(text.toString(), StandardCharsets.UTF_8);
  }

  /** The fields of {@code value}; lines without {@code =} are skipped. */
  static Map<String, String> parse(ByteSequence value) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : value.toString(StandardCharsets.UTF_8).split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        fields.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return fields;
  }
}
