package io.herd.core.sandbox;

import java.io.IOException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hands out the /30 blocks of a {@code sandbox.networkRange}, one per isolated worker, released
 * when the worker is gone. One set per range per JVM, since pools of the same gateway may share a
 * range; gateways on the same host must use different ranges.
 *
 * <p>Thread-safe: each range's set is guarded by itself.
 */
final class SubnetLeases {

  private static final Map<String, Set<Integer>> LEASED = new ConcurrentHashMap<>();

  private SubnetLeases() {}

  /**
   * The index of a free /30 block of {@code range}.
   *
   * @throws IOException when every block is taken
   */
  static int lease(Ipv4Range range) throws IOException {
    Set<Integer> leased = LEASED.computeIfAbsent(range.toString(), r -> new HashSet<>());
    synchronized (leased) {
      for (int i = 0; i < range.blocks(); i++) {
        if (leased.add(i)) {
          return i;
        }
      }
    }
    throw new IOException("sandbox.networkRange is exhausted: " + range + " (expected: at least"
        + " one /30 block per live worker; widen the range)");
  }

  static void release(Ipv4Range range, int index) {
    Set<Integer> leased = LEASED.get(range.toString());
    if (leased != null) {
      synchronized (leased) {
        leased.remove(index);
      }
    }
  }

  /** Blocks leased right now in {@code range}. */
  static int leasedCount(Ipv4Range range) {
    Set<Integer> leased = LEASED.get(range.toString());
    if (leased == null) {
      return 0;
    }
    synchronized (leased) {
      return leased.size();
    }
  }
}
