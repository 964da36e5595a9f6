package io.herd.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A plain socket speaking HTTP/1.1 by hand, for requests no well-behaved client would send
 * (smuggling attempts, obs-fold, slow headers) and for exact control over framing. Not
 * thread-safe; one per test.
 */
final class RawConnection implements AutoCloseable {

  /** A parsed response; header names lower-cased. */
  record Response(int status, Map<String, String> headers, String body) {}

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawConnection(int port) {
    try {
      socket = new Socket(InetAddress.getLoopbackAddress(), port);
      socket.setSoTimeout(10_000);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  RawConnection send(String text) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  RawConnection send(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads one response (Content-Length, chunked, or until close). */
  Response read() {
    return read(false);
  }

  /** Reads the status line and headers of a response that has no body (an answer to HEAD). */
  Response readHead() {
    return read(true);
  }

  private Response read(boolean headOnly) {
    try {
      String statusLine = line();
      if (statusLine == null) {
        throw new IOException("connection closed before a response");
      }
      int status = Integer.parseInt(statusLine.split(" ")[1]);
      Map<String, String> headers = new LinkedHashMap<>();
      for (String l; !(l = line()).isEmpty(); ) {
        int colon = l.indexOf(':');
        headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT),
            l.substring(colon + 1).trim(), (a, b) -> a + ", " + b);
      }
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (headOnly || status / 100 == 1 || status == 204 || status == 304) {
        // no body
      } else if (headers.containsKey("content-length")) {
        body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
      } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        for (int size; (size = Integer.parseInt(line().trim(), 16)) > 0; ) {
          body.write(in.readNBytes(size));
          line();
        }
        line();
      } else {
        body.write(in.readAllBytes());
      }
      return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether the peer closed the connection within the socket timeout (reads and drops data). */
  boolean closedByPeer() {
    try {
      byte[] buf = new byte[4096];
      while (true) {
        if (in.read(buf) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  /** Bytes that arrived and were not read yet; never blocks. */
  int buffered() {
    try {
      return in.available();
    } catch (IOException e) {
      return 0;
    }
  }

  void timeout(int millis) {
    try {
      socket.setSoTimeout(millis);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c; (c = in.read()) >= 0; ) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
