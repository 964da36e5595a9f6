package io.herd.core.sandbox;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An IPv4 network in CIDR form. As {@code sandbox.networkRange} it is cut into /30 blocks of which
 * each isolated worker gets one: the gateway's end of the veth pair is the block's first usable
 * address, the worker's the second. As an egress destination ({@link EgressRule}) it is any
 * prefix up to /32. Immutable and thread-safe.
 *
 * @param network the first address, as a 32-bit integer (host bits are masked off)
 * @param prefix the prefix length, 0 to 32
 */
record Ipv4Range(int network, int prefix) {

  private static final Pattern ADDRESS =
      Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

  Ipv4Range {
    if (prefix < 0 || prefix > 32) {
      throw new IllegalArgumentException("prefix out of range: " + prefix);
    }
    network = network & mask(prefix);
  }

  /**
   * Parses {@code a.b.c.d/p} or, as /32, {@code a.b.c.d}.
   *
   * @throws IllegalArgumentException when it is not one
   */
  static Ipv4Range parse(String text) {
    String t = text.trim();
    int slash = t.indexOf('/');
    int address = parseAddress(slash < 0 ? t : t.substring(0, slash));
    int prefix = 32;
    if (slash >= 0) {
      String p = t.substring(slash + 1);
      if (!p.matches("\\d{1,2}") || Integer.parseInt(p) > 32) {
        throw new IllegalArgumentException("not a prefix length: " + p);
      }
      prefix = Integer.parseInt(p);
    }
    return new Ipv4Range(address, prefix);
  }

  /**
   * Parses a dotted-quad address.
   *
   * @throws IllegalArgumentException when it is not one
   */
  static int parseAddress(String text) {
    Matcher m = ADDRESS.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("not an IPv4 address: " + text);
    }
    int address = 0;
    for (int i = 1; i <= 4; i++) {
      int octet = Integer.parseInt(m.group(i));
      if (octet > 255) {
        throw new IllegalArgumentException("not an IPv4 address: " + text);
      }
      address = (address << 8) | octet;
    }
    return address;
  }

  /** Number of /30 blocks in this range (for ranges of at most /30). */
  int blocks() {
    return 1 << (30 - prefix);
  }

  /** The first address of block {@code index}, which names the block's lease. */
  InetAddress blockAddress(int index) {
    return address(network + index * 4);
  }

  /** The gateway-side address of block {@code index}. */
  InetAddress hostAddress(int index) {
    return address(network + index * 4 + 1);
  }

  /** The worker-side address of block {@code index}. */
  InetAddress workerAddress(int index) {
    return address(network + index * 4 + 2);
  }

  /** Whether {@code address} lies in this range. */
  boolean contains(int address) {
    return (address & mask(prefix)) == network;
  }

  /** Whether the dotted-quad {@code address} lies in this range; false when it is not one. */
  boolean contains(String address) {
    try {
      return contains(parseAddress(address));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Whether the two ranges share an address. */
  boolean overlaps(Ipv4Range other) {
    return contains(other.network) || other.contains(network);
  }

  /** Whether the whole range lies in RFC 1918 private space. */
  boolean isPrivate() {
    return within(0x0a000000, 8) || within(0xac100000, 12) || within(0xc0a80000, 16);
  }

  /** Whether host bits were set in {@code address/prefix}, i.e. it is not a network address. */
  static boolean hasHostBits(int address, int prefix) {
    return (address & ~mask(prefix)) != 0;
  }

  private boolean within(int base, int basePrefix) {
    return prefix >= basePrefix && (network & mask(basePrefix)) == base;
  }

  private static int mask(int prefix) {
    return prefix == 0 ? 0 : -1 << (32 - prefix);
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

  /** {@code a.b.c.d} of a 32-bit address. */
  static String format(int address) {
    return (address >>> 24) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "."
        + (address & 255);
  }

  @Override
  public String toString() {
    return format(network) + "/" + prefix;
  }
}
