package io.herd.benchmarks.goals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP/1.1 request on a fresh loopback connection with {@code Connection: close}, read to the
 * end: the cheapest precise client, whose own cost is the same for every kind of request the
 * harness compares (a new session's first request, a pinned one, one to nginx). Stateless and
 * thread-safe. A read timeout guards against hangs; it is not a measurement.
 */
final class OneShotHttp {

  private static final int TIMEOUT_MILLIS = 30_000;

  private OneShotHttp() {}

  /**
   * Sends {@code METHOD path} to 127.0.0.1:port, with {@code X-Session-ID: key} unless key is
   * null, and returns the status code; -1 when the connection is refused, reset or closed
   * before a status line arrives.
   */
  static int send(int port, String method, String path, String key) {
    String request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
        + (key == null ? "" : "X-Session-ID: " + key + "\r\n")
        + "Connection: close\r\n\r\n";
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(TIMEOUT_MILLIS);
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TIMEOUT_MILLIS);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      return status(readAll(socket.getInputStream()));
    } catch (IOException e) {
      return -1;
    }
  }

  static int get(int port, String path, String key) {
    return send(port, "GET", path, key);
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    byte[] buf = new byte[4096];
    for (int n; (n = in.read(buf)) >= 0; ) {
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  private static int status(byte[] response) {
    String head = new String(response, 0, Math.min(response.length, 16), StandardCharsets.US_ASCII);
    if (!head.startsWith("HTTP/1.1 ") || head.length() < 12) {
      return -1;
    }
    try {
      return Integer.parseInt(head.substring(9, 12));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
