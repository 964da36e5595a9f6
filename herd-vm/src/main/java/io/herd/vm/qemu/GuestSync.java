package io.herd.vm.qemu;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Makes a guest restored from a snapshot its own: sends {@code sync <epoch-nanos> <64 random
 * bytes in hex>} on its {@code herd.control} port and waits for the init's {@code ok} line. The
 * init sets the guest's clock to the host's and credits the bytes to the guest's entropy pool
 * with a forced CRNG reseed, so two clones of one template neither share random numbers nor run
 * on the template's stale clock.
 *
 * <p>Stateless; each call opens and closes its own connection. Blocking, with a deadline.
 */
final class GuestSync {

  private static final SecureRandom RANDOM = new SecureRandom();

  private GuestSync() {}

  /**
   * Syncs the guest behind the control socket {@code socket}.
   *
   * @return the init's answer after {@code ok}, e.g. its boot id
   * @throws IOException when the socket fails or no {@code ok} line comes within {@code timeout}
   */
  static String sync(Path socket, Duration timeout) throws IOException {
    byte[] seed = new byte[64];
    RANDOM.nextBytes(seed);
    Instant now = Instant.now();
    long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    String line = "sync " + nanos + " " + HexFormat.of().formatHex(seed) + "\n";
    long deadline = System.nanoTime() + timeout.toNanos();
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = Selector.open()) {
      channel.connect(UnixDomainSocketAddress.of(socket));
      ByteBuffer out = ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        channel.write(out);
      }
      channel.configureBlocking(false);
      channel.register(selector, SelectionKey.OP_READ);
      ByteBuffer in = ByteBuffer.allocate(256);
      StringBuilder answer = new StringBuilder();
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IOException("the guest did not answer sync on its " + QemuCommand.CONTROL_PORT
              + " port within " + timeout.toMillis() + " ms (got: '" + answer + "'); is herd-vm's"
              + " init its PID 1?");
        }
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
        in.clear();
        int n = channel.read(in);
        if (n < 0) {
          throw new IOException("the control socket closed before the guest answered sync");
        }
        answer.append(new String(in.array(), 0, n, StandardCharsets.US_ASCII));
        int end = answer.indexOf("\n");
        if (end >= 0) {
          String reply = answer.substring(0, end).trim();
          if (!reply.startsWith("ok")) {
            throw new IOException("the guest answered sync with: " + reply);
          }
          return reply.substring(2).trim();
        }
      }
    }
  }
}
