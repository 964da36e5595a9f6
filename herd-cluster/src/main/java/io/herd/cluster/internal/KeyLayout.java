package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Where the cluster keeps its state in etcd, under one prefix per pool:
 *
 * <pre>
 *   &lt;prefix&gt;/nodes/&lt;node&gt;   a gateway ({@link NodeRecord}), on its own lease
 *   &lt;prefix&gt;/keys/&lt;key&gt;     a session's owner ({@link ClaimRecord}), on the owner's
 *                               lease; the key URL-encoded
 * </pre>
 *
 * Both kinds are attached to a lease, so a gateway that dies leaves nothing behind once its lease
 * expires. Immutable and thread-safe.
 */
public final class KeyLayout {

  /** What a key under the prefix names. */
  public enum Kind {
    NODE,
    SESSION
  }

  /** A key under the prefix, parsed: a node's name or a session key. */
  public record Parsed(Kind kind, String name) {}

  private final String root;
  private final String nodes;
  private final String sessions;

  /**
   * @param prefix e.g. {@code /herd/default}, validated by {@code ClusterConfig}
   */
  public KeyLayout(String prefix) {
    this.root = prefix + "/";
    this.nodes = root + "nodes/";
    this.sessions = root + "keys/";
  }

  /** Everything of this cluster: {@code <prefix>/}. */
  public ByteSequence root() {
    return bytes(root);
  }

  /** The key of node {@code node}'s record. */
  public ByteSequence node(String node) {
    return bytes(nodes + node);
  }

  /** The key of session {@code key}'s claim. */
  public ByteSequence session(String key) {
    return bytes(sessions + URLEncoder.encode(key, StandardCharsets.UTF_8));
  }

  /** What {@code key} names, if it is one of ours. */
  public Optional<Parsed> parse(ByteSequence key) {
    String text = key.toString(StandardCharsets.UTF_8);
    if (text.startsWith(nodes) && text.length() > nodes.length()) {
      return Optional.of(new Parsed(Kind.NODE, text.substring(nodes.length())));
    }
    if (text.startsWith(sessions) && text.length() > sessions.length()) {
      try {
        String name = URLDecoder.decode(text.substring(sessions.length()), StandardCharsets.UTF_8);
        return Optional.of(new Parsed(Kind.SESSION, name));
      } catch (IllegalArgumentException e) {
        return Optional.empty(); // not written by us
      }
    }
    return Optional.empty();
  }

  static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }
}
