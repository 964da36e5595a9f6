package io.herd.core.sandbox;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 network in CIDR form, cut into /30 blocks of which each isolated worker gets one: the
 * gateway's end of the veth pair is the block's first usable address, the worker's the second.
 * Immutable and thread-safe.
 *
 * @param network the first address, as a 32-bit integer (host bits are masked off)
 * @param prefix the prefix length, at most 30
 */
record Ipv4Range(int network, int prefix) {

  Ipv4Range {
    network = prefix == 0 ? 0 : network & (-1 << (32 - prefix));
  }

  /** Number of /30 blocks in this range. */
  int blocks() {
    return 1 << (30 - prefix);
  }

  /** The gateway-side address of block {@code index}. */
  InetAddress hostAddress(int index) {
    return address(network + index * 4 + 1);
  }

  /** The worker-side address of block {@code index}. */
  InetAddress workerAddress(int index) {
    return address(network + index * 4 + 2);
  }

  /** Whether the whole range lies in RFC 1918 private space. */
  boolean isPrivate() {
    return within(0x0a000000, 8) || within(0xac100000, 12) || within(0xc0a80000, 16);
  }

  private boolean within(int base, int basePrefix) {
    return prefix >= basePrefix && (network & (-1 << (32 - basePrefix))) == base;
  }

  private static InetAddress address(int value) {
    byte[] bytes = {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8),
        (byte) value};
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 bytes are always a valid address", e);
    }
  }

  @Override
  public String toString() {
    return (network >>> 24) + "." + ((network >>> 16) & 255) + "." + ((network >>> 8) & 255) + "."
        + (network & 255) + "/" + prefix;
  }
}
