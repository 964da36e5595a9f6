package io.herd.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A worker that switches every connection to a byte echo: it reads a request head, answers {@code
 * 101 Switching Protocols} (the {@code Upgrade} the client asked for, as a WebSocket server
 * would), then writes back every byte it reads until the connection closes. What the gateway sees
 * is a real protocol switch and a real tunnel; what is tunnelled is not framed, since framing is
 * no business of the gateway's. One thread per connection (tests open a few hundred at most).
 */
final class UpgradeEchoWorker extends LoopbackSocketServer {

  private static final byte[] SWITCHING = ("HTTP/1.1 101 Switching Protocols\r\n"
      + "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

  UpgradeEchoWorker() {
    super("upgrade-echo-worker", 1024);
    start();
  }

  @Override
  protected void serve(int connection, Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      if (!skipHead(in)) {
        return;
      }
      out.write(SWITCHING);
      out.flush();
      byte[] buf = new byte[4096];
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the tunnel closed
    }
  }

  /** Reads up to the blank line that ends a head; false at the end of the stream before it. */
  private static boolean skipHead(InputStream in) throws IOException {
    int matched = 0; // of \r\n\r\n
    for (int b; (b = in.read()) >= 0; ) {
      matched = (b == '\r' && matched % 2 == 0) || (b == '\n' && matched % 2 == 1)
          ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        return true;
      }
    }
    return false;
  }
}
