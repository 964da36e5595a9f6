package io.herd.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker for the front-door fuzz test: an HTTP/1.1 server on a loopback socket that keeps the
 * raw bytes of every connection, reads them with the strict {@link Http1Reference} parser, and
 * answers each complete request with {@code 200} and {@code Content-Length}. Whatever the parser
 * refuses, and whatever is left when a connection ends, is recorded too: the test then sees
 * exactly what the gateway let through, including requests it cut short.
 *
 * <p>Thread-safe: one thread per connection; records go to a concurrent list. Lives until {@link
 * #close()}, which closes the listener and every connection and waits for their threads.
 */
final class RecordingWorker extends LoopbackSocketServer {

  /**
   * One request as the worker read it (its raw bytes), or what was left on a connection that
   * ended. {@code problem} is set when the strict parser refused the bytes (the gateway sent
   * something a strict server would not take); {@code complete} is false for a request cut short.
   * Only the bytes are kept; {@link #request()} parses them again, so that thousands of records
   * stay small.
   */
  record Seen(long order, int connection, boolean complete, String problem, byte[] raw) {
    /** The request as the strict parser reads it (its head, when it was cut short). */
    Http1Reference.Message request() {
      Http1Reference.Parsed p = Http1Reference.parseForwardedRequests(raw);
      return p.messages().isEmpty() ? p.last() : p.messages().get(0);
    }
  }

  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final AtomicLong order = new AtomicLong();
  private final AtomicInteger closed = new AtomicInteger();

  RecordingWorker() {
    super("recording-worker", 200);
    start();
  }

  List<Seen> seen() {
    return List.copyOf(seen);
  }

  /** Connections still open. */
  int openConnections() {
    return connections() - closed.get();
  }

  @Override
  protected void serve(int connection, Socket s) {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    int consumed = 0; // bytes of raw that belong to requests already recorded
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) >= 0; ) {
        raw.write(buf, 0, n);
        byte[] all = raw.toByteArray();
        byte[] rest = Arrays.copyOfRange(all, consumed, all.length);
        Http1Reference.Parsed p = Http1Reference.parseForwardedRequests(rest);
        for (Http1Reference.Message m : p.messages()) {
          record(connection, true, null, Arrays.copyOfRange(rest, m.start, m.end));
          byte[] body = ("seen " + connection).getBytes(StandardCharsets.US_ASCII);
          String head = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n";
          out.write(head.getBytes(StandardCharsets.US_ASCII));
          if (!"HEAD".equals(m.method)) {
            out.write(body);
          }
          out.flush();
        }
        consumed += p.offset();
        if (p.stop() == Http1Reference.Stop.BAD_HEAD || p.stop() == Http1Reference.Stop.BAD_BODY) {
          record(connection, false, p.stop() + ": " + p.problem(),
              Arrays.copyOfRange(rest, p.offset(), rest.length));
          consumed = all.length;
          return;
        }
      }
    } catch (IOException e) {
      // the gateway closed the connection (maybe with a reset); what is left is recorded below
    } finally {
      byte[] all = raw.toByteArray();
      if (consumed < all.length) {
        byte[] rest = Arrays.copyOfRange(all, consumed, all.length);
        Http1Reference.Parsed p = Http1Reference.parseForwardedRequests(rest);
        if (p.stop() == Http1Reference.Stop.PARTIAL_BODY) {
          record(connection, false, null, rest);
        } else if (p.stop() != Http1Reference.Stop.END && p.last() != null) {
          record(connection, false, p.stop() + ": " + p.problem(), rest);
        }
      }
      closed.incrementAndGet();
    }
  }

  private void record(int connection, boolean complete, String problem, byte[] raw) {
    seen.add(new Seen(order.incrementAndGet(), connection, complete, problem, raw));
  }
}
