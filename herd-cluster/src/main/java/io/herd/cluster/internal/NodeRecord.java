package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A gateway's entry under {@code <prefix>/nodes/<node>}, attached to its lease: where peers reach
 * it, the lease its claims hang on (so that a peer can claim a session for it), its published
 * capacity, and whether it is leaving on purpose (written just before it revokes its lease, so that
 * peers do not report its sessions as lost).
 */
public record NodeRecord(
    String node, URI advertise, long lease, int free, int max, boolean leaving) {

  ByteSequence encode() {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("advertise", advertise.toString());
    fields.put("lease", Long.toString(lease));
    fields.put("free", Integer.toString(free));
    fields.put("max", Integer.toString(max));
    if (leaving) {
      fields.put("leaving", "true");
    }
    return TextRecord.format(fields);
  }

  /** The record in {@code value}, or empty when it is not one (someone else's key). */
  static Optional<NodeRecord> decode(String node, ByteSequence value) {
    Map<String, String> fields = TextRecord.parse(value);
    try {
      return Optional.of(
          new NodeRecord(
              node,
              URI.create(fields.get("advertise")),
              Long.parseLong(fields.get("lease")),
              Integer.parseInt(fields.get("free")),
              Integer.parseInt(fields.get("max")),
              Boolean.parseBoolean(fields.get("leaving"))));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  NodeRecord withCapacity(int newFree, int newMax) {
    return new NodeRecord(node, advertise, lease, newFree, newMax, leaving);
  }

  NodeRecord asLeaving() {
    return new NodeRecord(node, advertise, lease, free, max, true);
  }
}
