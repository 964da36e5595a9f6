package io.herd.server.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A listen address as written in configuration: {@code 127.0.0.1:8080}, {@code [::1]:8080},
 * {@code localhost:8080}, or {@code :8080} for every interface. Port 0 asks the kernel for a free
 * one. Immutable.
 *
 * @param host the host as written; empty for every interface
 * @param port 0-65535
 */
public record HostPort(String host, int port) {

  /** The constraint that error messages quote. */
  public static final String EXPECTED = "host:port with a port 0-65535, e.g. 127.0.0.1:8080";

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException when it is not {@code host:port}
   */
  public static HostPort parse(String text) {
    String s = text == null ? "" : text.trim();
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("no port in " + text);
    }
    String host = s.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException("IPv6 addresses need brackets: " + text);
    }
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in " + text, e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range in " + text);
    }
    return new HostPort(host, port);
  }

  /**
   * The socket address; resolves a host name.
   *
   * @throws IllegalArgumentException when the host does not resolve
   */
  public InetSocketAddress toSocketAddress() {
    if (host.isEmpty()) {
      return new InetSocketAddress(port);
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("unknown host " + host, e);
    }
  }

  /** Whether this binds a loopback address only ({@code 127.x}, {@code ::1}, localhost). */
  public boolean isLoopback() {
    if (host.isEmpty()) {
      return false;
    }
    try {
      for (InetAddress a : InetAddress.getAllByName(host)) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
