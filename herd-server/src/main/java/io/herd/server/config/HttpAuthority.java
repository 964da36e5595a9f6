package io.herd.server.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A host and optional port as HTTP writes them in a {@code Host} header or an origin: {@code
 * localhost:9090}, {@code 127.0.0.1}, {@code [::1]:9090}, {@code herd.internal}. Parsing never
 * touches DNS — a name stays a name and only an IP literal becomes an address — so it is safe on
 * an event loop and cannot be steered by whoever controls a DNS zone.
 *
 * <p>Immutable and thread-safe.
 *
 * @param host the host in lower case, IPv6 literals without brackets
 * @param port the port, or -1 when none is written
 * @param address the address when {@code host} is an IP literal, else empty
 */
public record HttpAuthority(String host, int port, Optional<InetAddress> address) {

  /** What a host without port may be, for messages. */
  public static final String EXPECTED_HOST =
      "a host name such as herd.internal, or an IP address such as 10.0.0.5 or [fd00::5]";

  private static final Pattern NAME = Pattern.compile(
      "[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*");
  private static final Pattern IPV4 =
      Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-f:.]+");

  /**
   * Parses {@code host[:port]}; an IPv6 literal must be in brackets when a port follows, and may
   * be bare otherwise (as in configuration).
   *
   * @throws IllegalArgumentException when it is not a host name or IP literal with an optional
   *     port 1-65535
   */
  public static HttpAuthority parse(String text) {
    if (text == null || text.isEmpty() || text.length() > 300) {
      throw new IllegalArgumentException("not a host: " + text);
    }
    String s = text.toLowerCase(Locale.ROOT);
    String host;
    String port = null;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("unclosed [ in " + text);
      }
      host = s.substring(1, close);
      String rest = s.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw new IllegalArgumentException("junk after ] in " + text);
        }
        port = rest.substring(1);
      }
      if (!host.contains(":")) {
        throw new IllegalArgumentException("not an IPv6 literal in brackets: " + text);
      }
    } else if (s.indexOf(':') != s.lastIndexOf(':')) {
      host = s; // a bare IPv6 literal, as configuration may write it
    } else {
      int colon = s.indexOf(':');
      host = colon < 0 ? s : s.substring(0, colon);
      port = colon < 0 ? null : s.substring(colon + 1);
    }
    int portNumber = port == null ? -1 : parsePort(port, text);
    Optional<InetAddress> address = literal(host);
    if (address.isEmpty() && (host.contains(":") || !NAME.matcher(host).matches())) {
      throw new IllegalArgumentException("not a host name or IP address: " + text);
    }
    return new HttpAuthority(host, portNumber, address);
  }

  /** Whether the host is an IP literal. */
  public boolean isAddress() {
    return address.isPresent();
  }

  /** {@code host}, with brackets around an IPv6 literal: how it appears in a URL. */
  public String hostForUrl() {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  private static int parsePort(String port, String text) {
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException("bad port in " + text);
    }
    int p = Integer.parseInt(port);
    if (p < 1 || p > 65535) {
      throw new IllegalArgumentException("port out of range in " + text);
    }
    return p;
  }

  /** The address of an IPv4 or IPv6 literal; empty for anything else. Never resolves a name. */
  static Optional<InetAddress> literal(String host) {
    boolean v4 = IPV4.matcher(host).matches();
    boolean v6 = host.contains(":") && IPV6.matcher(host).matches();
    if (!v4 && !v6) {
      return Optional.empty();
    }
    try {
      // A literal is parsed, not looked up: getByName only resolves what is not one.
      return Optional.of(InetAddress.getByName(host));
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }

  @Override
  public String toString() {
    return port < 0 ? hostForUrl() : hostForUrl() + ":" + port;
  }
}
