package io.herd.proxy;

import io.herd.core.WorkerFactory;
import io.herd.core.testing.ObjectWorkerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
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
final class ScriptedWorker implements AutoCloseable {

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

  private final ServerSocket server;
  private final Handler handler;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Integer> ended = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  ScriptedWorker(Handler handler) {
    this.handler = handler;
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = new Thread(this::accept, "scripted-worker-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A 200 response with {@code body} and a Content-Length, as raw bytes. */
  static byte[] ok(String body) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    return ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length
        + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
  }

  /** Workers that all live at this server; for {@link GatewayFixture}. */
  WorkerFactory factory() {
    return new ObjectWorkerFactory(uri(), OptionalLong.empty());
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  /** Every request read so far, in arrival order. */
  List<Request> requests() {
    return List.copyOf(requests);
  }

  /** Connections accepted so far. */
  int connections() {
    return sockets.size();
  }

  /** Connections (numbered from 0 in accept order) whose peer closed them. */
  List<Integer> endedConnections() {
    return List.copyOf(ended);
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        return;
      }
      int number;
      synchronized (sockets) {
        number = sockets.size();
        sockets.add(s);
      }
      Thread t = new Thread(() -> serve(number, s), "scripted-worker-" + number);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void serve(int number, Socket s) {
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

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    try {
      acceptor.join(5_000);
      for (Thread t : threads) {
        t.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
