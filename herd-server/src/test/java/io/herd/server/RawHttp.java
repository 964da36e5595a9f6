package io.herd.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 exchange over a plain socket, with exactly the head the test writes — what a
 * browser under DNS rebinding sends ({@code Host: attacker.example}) cannot be sent with the JDK's
 * client, which sets {@code Host} itself. The request asks for {@code Connection: close}, and the
 * answer is read to the end of the stream. Stateless.
 */
public final class RawHttp {

  /** A parsed answer: status, headers (names in lower case) and body. */
  public record Response(int status, Map<String, String> headers, String body) {}

  private RawHttp() {}

  /**
   * Sends {@code method target} to {@code base} (e.g. {@code http://127.0.0.1:9090}) with the
   * given header lines ({@code "Host: x"}); adds {@code Connection: close} and, with a body,
   * {@code Content-Length}.
   */
  public static Response exchange(String base, String method, String target, String body,
      String... headerLines) throws IOException {
    URI uri = URI.create(base);
    StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\n");
    for (String line : headerLines) {
      head.append(line).append("\r\n");
    }
    byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      head.append("Content-Length: ").append(content.length).append("\r\n");
    }
    head.append("Connection: close\r\n\r\n");
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 10_000);
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(content);
      out.flush();
      return parse(readAll(socket.getInputStream()));
    }
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    in.transferTo(buf);
    return buf.toString(StandardCharsets.UTF_8);
  }

  private static Response parse(String raw) {
    int end = raw.indexOf("\r\n\r\n");
    if (end < 0) {
      throw new AssertionError("no complete response head: " + raw);
    }
    String[] lines = raw.substring(0, end).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).trim());
    }
    return new Response(status, headers, raw.substring(end + 4));
  }
}
