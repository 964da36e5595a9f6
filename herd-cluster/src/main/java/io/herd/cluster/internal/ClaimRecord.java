package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A session's claim under {@code <prefix>/keys/<key>}: the node that owns it and, once the owner's
 * pool has given the session a worker, that worker's id. It is attached to the owner's lease, so
 * the claim vanishes with the owner.
 *
 * @param worker the worker's id, or null while the claim is not yet bound to one
 */
record ClaimRecord(String node, String worker) {

  ClaimRecord(String node) {
    this(node, null);
  }

  ByteSequence encode() {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("node", node);
    if (worker != null) {
      fields.put("worker", worker);
    }
    return TextRecord.format(fields);
  }

  static Optional<ClaimRecord> decode(ByteSequence value) {
    Map<String, String> fields = TextRecord.parse(value);
    String node = fields.get("node");
    String worker = fields.get("worker");
    return node == null || node.isEmpty()
        ? Optional.empty()
        : Optional.of(new ClaimRecord(node, worker == null || worker.isEmpty() ? null : worker));
  }
}
