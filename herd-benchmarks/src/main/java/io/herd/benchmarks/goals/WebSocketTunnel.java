package io.herd.benchmarks.goals;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One client WebSocket connection through the gateway, opened with a raw HTTP/1.1 upgrade, kept
 * idle, and able to prove it still works with one echoed text frame. Not thread-safe: one thread
 * at a time per tunnel. The caller closes it.
 */
final class WebSocketTunnel implements AutoCloseable {

  /** How an attempt to open a tunnel ended; anything but {@link #OPEN} keeps no socket. */
  enum Outcome {
    /** 101 Switching Protocols. */
    OPEN,
    /** The gateway answered with another status (503 when it refuses: see {@link #status}). */
    ANSWERED,
    /** The connection was closed or reset before a status line (a clean refusal, no answer). */
    CLOSED,
    /** connect() refused: nobody accepted the connection. */
    REFUSED,
    /** Nothing within the timeout: the failure the refusal must avoid. */
    HUNG
  }

  private final Socket socket;
  private final InputStream in;
  final Outcome outcome;
  final int status;

  private WebSocketTunnel(Socket socket, InputStream in, Outcome outcome, int status) {
    this.socket = socket;
    this.in = in;
    this.outcome = outcome;
    this.status = status;
  }

  private static WebSocketTunnel failed(Outcome outcome, int status) {
    return new WebSocketTunnel(null, null, outcome, status);
  }

  /** Opens a tunnel to {@code ws://127.0.0.1:port/ws} for session {@code key}. */
  static WebSocketTunnel open(int port, String key, int timeoutMillis) {
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(timeoutMillis);
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeoutMillis);
      byte[] nonce = new byte[16];
      ThreadLocalRandom.current().nextBytes(nonce);
      String request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nX-Session-ID: " + key
          + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      InputStream in = new BufferedInputStream(socket.getInputStream(), 512);
      String head = readHead(in);
      if (head == null) {
        socket.close();
        return failed(Outcome.CLOSED, -1);
      }
      int status = head.length() >= 12 && head.startsWith("HTTP/1.1 ")
          ? Integer.parseInt(head.substring(9, 12)) : -1;
      if (status == 101) {
        return new WebSocketTunnel(socket, in, Outcome.OPEN, status);
      }
      socket.close();
      return failed(Outcome.ANSWERED, status);
    } catch (ConnectException e) {
      closeQuietly(socket);
      return failed(Outcome.REFUSED, -1);
    } catch (SocketTimeoutException e) {
      closeQuietly(socket);
      return failed(Outcome.HUNG, -1);
    } catch (IOException | NumberFormatException e) {
      closeQuietly(socket);
      return failed(Outcome.CLOSED, -1);
    }
  }

  /** Sends one masked text frame and reads its echo; true when the same text came back. */
  boolean echoes(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    if (socket == null || payload.length > 125) {
      return false;
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    byte[] frame = new byte[6 + payload.length];
    frame[0] = (byte) 0x81;
    frame[1] = (byte) (0x80 | payload.length);
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i & 3]);
    }
    try {
      OutputStream out = socket.getOutputStream();
      out.write(frame);
      byte[] head = in.readNBytes(2);
      if (head.length < 2 || (head[0] & 0x0F) != 1 || (head[1] & 0x7F) != payload.length) {
        return false;
      }
      return Arrays.equals(in.readNBytes(payload.length), payload);
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() {
    if (socket != null) {
      closeQuietly(socket);
    }
  }

  /** The response head up to its blank line, or null when the stream ended before it. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream(256);
    int matched = 0;
    for (int b; (b = in.read()) >= 0; ) {
      head.write(b);
      matched = (b == '\r' || b == '\n') ? matched + 1 : 0;
      if (matched == 4 || head.size() > 16_384) {
        return head.toString(StandardCharsets.US_ASCII);
      }
    }
    return head.size() == 0 ? null : head.toString(StandardCharsets.US_ASCII);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing to do: the tunnel is gone either way
    }
  }
}
