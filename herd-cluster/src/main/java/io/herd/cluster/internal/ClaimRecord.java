package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import java.util.Map;
import java.util.Optional;

/**
 * A session's claim under {@code <prefix>/keys/<key>}: the node that owns it. It is attached to the
 * owner's lease, so the claim vanishes with the owner.
 */
record ClaimRecord(String node) {

  ByteSequence encode() {
    return TextRecord.format(Map.of("node", node));
  }

  static Optional<ClaimRecord> decode(ByteSequence value) {
    String node = TextRecord.parse(value).get("node");
    return node == null || node.isEmpty() ? Optional.empty() : Optional.of(new ClaimRecord(node));
  }
}
