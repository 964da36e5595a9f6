package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * Hands out the /30 blocks of a {@code sandbox.networkRange}, one per isolated worker, released
 * when the worker's network is gone.
 *
 * <p>Host-wide: every gateway on the host leases through the lock files of {@code
 * /run/herd/leases/net} ({@link LeaseDirectory}), one per block, named by the block's first
 * address. So two gateways never use the same block, even with the same or overlapping ranges.
 * The record names the namespace and host link the holder creates for the block; if the holder
 * died, the block is not reused while either still exists (the next gateway's stale sweep removes
 * them).
 *
 * <p>One instance per JVM ({@link #shared()}); tests make their own on a temporary directory.
 * Thread-safe: the lease directory serializes; leases are rare (one per network).
 */
final class SubnetLeases {

  private static final SubnetLeases SHARED =
      new SubnetLeases(LeaseDirectory.at(LeaseDirectory.HOST_ROOT.resolve("net")));

  private final LeaseDirectory leases;
  private final Predicate<String> leftoversRemain;

  /**
   * @param leases where the lock files live
   * @param leftoversRemain given a dead holder's record, whether its namespace or link exists
   */
  SubnetLeases(LeaseDirectory leases, Predicate<String> leftoversRemain) {
    this.leases = leases;
    this.leftoversRemain = leftoversRemain;
  }

  /** Leases in {@code leases}, checking this host's namespaces and links. */
  SubnetLeases(LeaseDirectory leases) {
    this(leases, SubnetLeases::remains);
  }

  static SubnetLeases shared() {
    return SHARED;
  }

  /**
   * The index of a /30 block of {@code range} that no gateway on the host uses.
   *
   * @param namespace the network namespace the caller will create for the block
   * @param link the host-side link the caller will create for the block
   * @throws IOException when every block is taken, or the lease directory cannot be written
   */
  int lease(Ipv4Range range, String namespace, String link) throws IOException {
    String record = "pid " + ProcessHandle.current().pid() + "\nnetns " + namespace + "\nlink "
        + link + "\n";
    for (int i = 0; i < range.blocks(); i++) {
      if (leases.tryLease(name(range, i), record, leftoversRemain)) {
        return i;
      }
    }
    throw new IOException("sandbox.networkRange is exhausted: " + range + " (expected: at least"
        + " one /30 block per live worker of every gateway on this host that uses the range;"
        + " widen the range)");
  }

  /** Hands block {@code index} back; call once its namespace and link are gone. */
  void release(Ipv4Range range, int index) {
    leases.release(name(range, index));
  }

  /** Blocks of {@code range} this JVM holds right now. */
  int leasedCount(Ipv4Range range) {
    int count = 0;
    for (String name : leases.held()) {
      if (range.contains(name)) {
        count++;
      }
    }
    return count;
  }

  private static String name(Ipv4Range range, int index) {
    return range.blockAddress(index).getHostAddress();
  }

  /** Whether the namespace or link a dead holder recorded still exists on this host. */
  private static boolean remains(String record) {
    for (String ns : LeaseDirectory.values(record, "netns")) {
      if (ns.contains("/") || Files.exists(Path.of("/run/netns", ns))) {
        return true;
      }
    }
    for (String link : LeaseDirectory.values(record, "link")) {
      if (link.contains("/") || Files.exists(Path.of("/sys/class/net", link))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "SubnetLeases{" + leases.dir() + "}";
  }
}
