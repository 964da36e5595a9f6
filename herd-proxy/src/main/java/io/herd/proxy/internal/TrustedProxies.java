package io.herd.proxy.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * The peers whose {@code X-Forwarded-*} headers the gateway believes: exact addresses or CIDR
 * blocks, IPv4 or IPv6. Immutable and thread-safe.
 */
public final class TrustedProxies {

  private static final TrustedProxies NONE = new TrustedProxies(List.of());

  private final List<Block> blocks;

  private TrustedProxies(List<Block> blocks) {
    this.blocks = blocks;
  }

  /** Trusts nobody. */
  public static TrustedProxies none() {
    return NONE;
  }

  /**
   * Parses {@code 10.0.0.1}, {@code 10.0.0.0/8}, {@code ::1}, {@code fd00::/8}. Only literal
   * addresses: a host name here would make every request depend on DNS.
   *
   * @throws IllegalArgumentException naming the first bad entry
   */
  public static TrustedProxies parse(List<String> specs) {
    List<Block> blocks = new ArrayList<>();
    for (String spec : specs) {
      blocks.add(Block.parse(spec));
    }
    return blocks.isEmpty() ? NONE : new TrustedProxies(List.copyOf(blocks));
  }

  /** Whether {@code peer} is one of the trusted proxies. */
  public boolean contains(InetAddress peer) {
    if (peer == null) {
      return false;
    }
    byte[] addr = peer.getAddress();
    for (Block block : blocks) {
      if (block.matches(addr)) {
        return true;
      }
    }
    return false;
  }

  private record Block(byte[] network, int prefix) {
    static Block parse(String spec) {
      String problem = "proxy.trustedProxies has a bad entry: " + spec
          + " (expected: an IP address or CIDR block such as 10.0.0.0/8)";
      if (spec == null || spec.isBlank()) {
        throw new IllegalArgumentException(problem);
      }
      String s = spec.trim();
      int slash = s.indexOf('/');
      String host = slash < 0 ? s : s.substring(0, slash);
      if (!host.matches("[0-9A-Fa-f:.]+")) {
        throw new IllegalArgumentException(problem);
      }
      try {
        byte[] network = InetAddress.getByName(host).getAddress();
        int prefix = slash < 0 ? network.length * 8 : Integer.parseInt(s.substring(slash + 1));
        if (prefix < 0 || prefix > network.length * 8) {
          throw new IllegalArgumentException(problem);
        }
        return new Block(network, prefix);
      } catch (UnknownHostException | NumberFormatException e) {
        throw new IllegalArgumentException(problem, e);
      }
    }

    boolean matches(byte[] addr) {
      if (addr.length != network.length) {
        return false;
      }
      int bits = prefix;
      for (int i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
        int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        if ((addr[i] & mask) != (network[i] & mask)) {
          return false;
        }
      }
      return true;
    }
  }
}
