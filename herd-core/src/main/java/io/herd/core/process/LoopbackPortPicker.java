package io.herd.core.process;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * Picks a free TCP port on 127.0.0.1 for a new worker by letting the kernel choose one (bind to
 * port 0, read the port, close).
 *
 * <p>The port is free when picked but not reserved: another program may take it before the
 * worker binds it, and the worker then fails to start (and the pool retries). To keep two
 * workers of this factory from being handed the same port while the first is still starting,
 * the last {@value #REMEMBERED} ports picked are never handed out again.
 *
 * <p>Thread-safe: {@link #pick()} holds the instance lock for one bind and close.
 */
final class LoopbackPortPicker {

  static final int REMEMBERED = 64;
  private static final int ATTEMPTS = 16;

  /** Ring of recently picked ports; guarded by {@code this}. */
  private final int[] recent = new int[REMEMBERED];
  private int next;

  /**
   * A port that was free a moment ago and was not picked recently.
   *
   * @throws IOException if no socket could be bound, or every attempt met a recent port
   */
  synchronized int pick() throws IOException {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int port;
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = socket.getLocalPort();
      }
      if (!pickedRecently(port)) {
        recent[next] = port;
        next = (next + 1) % REMEMBERED;
        return port;
      }
    }
    throw new IOException("no port on 127.0.0.1 after " + ATTEMPTS
        + " attempts that was not handed out recently");
  }

  private boolean pickedRecently(int port) {
    for (int used : recent) {
      if (used == port) {
        return true;
      }
    }
    return false;
  }
}
