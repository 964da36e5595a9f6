package io.herd.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A worker the test writes by hand: an HTTP/1.1 server on a real loopback socket whose answers a
 * {@link Handler} scripts request by request, and which records what reached it exactly as it
 * arrived on the wire (head, body, whether the body was complete, whether the connection ended).
 * For behaviour the JDK's server cannot show or produce: an unsolicited second response, a body
 * cut off mid-chunk, duplicate headers as sent.
 *
 * <p>Every session of a pool built on {@link #factory()} is served by this one server (the
 * factory's workers all report its address); handlers tell sessions apart by their key header.
 * Thread-safe: one thread per connection; the records are concurrent lists. Lives until {@link
 * #close()}, which closes the listener and every connection.
 */
final class ScriptedWorker extends LoopbackSocketServer {

  /**
   * One request as the worker read it. Header (and trailer) names are lower-cased; values keep
   * their order.
   */
  record Request(
      int connection, String requestLine, Map<String, List<String>> headers, byte[] body,
      boolean complete, Map<String, List<String>> trailers) {

    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null ? null : values.get(0);
    }

    List<String> all(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    String bodyText() {
      return new String(body, StandardCharsets.ISO_8859_1);
    }
  }

  /** Answers one request; writes to {@code out} (raw bytes, any number of responses). */
  @FunctionalInterface
  interface Handler {
    void handle(Request request, OutputStream out) throws IOException;
  }

  private final Handler handler;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Integer> ended = new CopyOnWriteArrayList<>();

  ScriptedWorker(Handler handler) {
    super("scripted-worker", 50);
    this.handler = handler;
    start();
  }

  /** A 200 response with {@code body} and a Content-Length, as raw bytes. */
  static byte[] ok(String body) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    return ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length
        + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
  }

  /** Every request read so far, in arrival order. */
  List<Request> requests() {
    return List.copyOf(requests);
  }

  /** Connections (numbered from 0 in accept order) whose peer closed them. */
  List<Integer> endedConnections() {
    return List.copyOf(ended);
  }

  @Override
  protected void serve(int number, Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        Request r = read(number, in);
        if (r == null) {
          break;
        }
        requests.add(r);
        if (!r.complete()) {
          break;
        }
        handler.handle(r, out);
        out.flush();
      }
    } catch (IOException e) {
      // the peer went away; recorded below like a close
    } finally {
      ended.add(number);
    }
  }

  /** Reads one request; null at a clean end of the connection before a request began. */
  private static Request read(int number, InputStream in) throws IOException {
    String line = line(in);
    if (line == null) {
      return null;
    }
    Map<String, List<String>> headers = fields(in);
    Map<String, List<String>> trailers = Map.of();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    boolean complete = true;
    List<String> te = headers.get("transfer-encoding");
    List<String> cl = headers.get("content-length");
    if (te != null && te.get(te.size() - 1).toLowerCase(Locale.ROOT).endsWith("chunked")) {
      complete = false;
      while (true) {
        String size = line(in);
        if (size == null) {
          break;
        }
        int n = Integer.parseInt(size.trim(), 16);
        if (n == 0) {
          trailers = fields(in); // up to the empty line after the last chunk
          complete = true;
          break;
        }
        byte[] data = in.readNBytes(n);
        body.write(data);
        if (data.length < n || line(in) == null) {
          break;
        }
      }
    } else if (cl != null) {
      int n = Integer.parseInt(cl.get(0));
      byte[] data = in.readNBytes(n);
      body.write(data);
      complete = data.length == n;
    }
    return new Request(number, line, headers, body.toByteArray(), complete, trailers);
  }

  /** Field lines up to an empty line (or the end of the stream). */
  private static Map<String, List<String>> fields(InputStream in) throws IOException {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    for (String l; (l = line(in)) != null && !l.isEmpty(); ) {
      int colon = l.indexOf(':');
      fields.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(l.substring(colon + 1).trim());
    }
    return fields;
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c; (c = in.read()) >= 0; ) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return null;
  }
}
