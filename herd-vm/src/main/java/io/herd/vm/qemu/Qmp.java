package io.herd.vm.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A client of QEMU's machine protocol (QMP) over its UNIX-domain socket: the greeting and {@code
 * qmp_capabilities} at {@link #connect}, then one command at a time with {@link #execute}, which
 * returns QEMU's {@code return} value or throws {@link QmpException} with its {@code error.desc}.
 * Asynchronous events that arrive between answers are kept in {@link #events()} (tests and logs
 * read them; nothing depends on them).
 *
 * <p>Blocking, with a deadline on every read: use it off event loops. Not thread-safe: one
 * caller at a time (QMP pairs answers with commands by order). Lifetime: until {@link #close()}
 * or until QEMU exits, after which every call throws.
 */
public final class Qmp implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final SocketChannel channel;
  private final Selector selector;
  private final Duration timeout;
  private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private final List<JsonNode> events = new ArrayList<>();

  private Qmp(SocketChannel channel, Selector selector, Duration timeout) {
    this.channel = channel;
    this.selector = selector;
    this.timeout = timeout;
  }

  /**
   * Connects to {@code socket}, waiting up to {@code timeout} for QEMU to create it, reads the
   * greeting and enters command mode.
   *
   * @param timeout the deadline for the connection and, later, for each answer
   * @throws IOException when the socket does not appear, refuses, or QEMU does not greet in time
   */
  public static Qmp connect(Path socket, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    SocketChannel channel = null;
    while (channel == null) {
      SocketChannel attempt = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        attempt.connect(UnixDomainSocketAddress.of(socket));
        channel = attempt;
      } catch (IOException e) {
        attempt.close();
        if (System.nanoTime() > deadline) {
          throw new IOException("no QMP socket at " + socket + " within " + timeout.toMillis()
              + " ms" + (Files.exists(socket) ? "" : " (it does not exist)") + ": " + e, e);
        }
        sleep(2);
      }
    }
    Selector selector = Selector.open();
    channel.configureBlocking(false);
    channel.register(selector, SelectionKey.OP_READ);
    Qmp qmp = new Qmp(channel, selector, timeout);
    try {
      JsonNode greeting = qmp.readMessage();
      if (!greeting.has("QMP")) {
        throw new IOException("not a QMP greeting from " + socket + ": " + greeting);
      }
      qmp.execute("qmp_capabilities", Map.of());
    } catch (IOException | RuntimeException e) {
      qmp.close();
      throw e;
    }
    return qmp;
  }

  /**
   * Runs {@code command} with {@code arguments} (empty for none) and returns its {@code return}
   * value (an empty object for commands that return nothing).
   *
   * @throws QmpException when QEMU answers with an error
   * @throws IOException when the socket fails or no answer comes within the timeout
   */
  public JsonNode execute(String command, Map<String, ?> arguments) throws IOException {
    ObjectNode request = JSON.createObjectNode().put("execute", command);
    if (!arguments.isEmpty()) {
      request.set("arguments", JSON.valueToTree(arguments));
    }
    try {
      write(JSON.writeValueAsBytes(request));
    } catch (IOException e) {
      throw new IOException("cannot send " + command + " on QEMU's QMP socket (it exited?): "
          + e.getMessage(), e);
    }
    while (true) {
      JsonNode message = readMessage();
      if (message.has("event")) {
        events.add(message);
        continue;
      }
      if (message.has("error")) {
        JsonNode error = message.get("error");
        throw new QmpException(command, error.path("class").asText(),
            error.path("desc").asText(error.toString()));
      }
      if (message.has("return")) {
        return message.get("return");
      }
      throw new IOException("unexpected QMP answer to " + command + ": " + message);
    }
  }

  /** Same as {@link #execute(String, Map)} without arguments. */
  public JsonNode execute(String command) throws IOException {
    return execute(command, Map.of());
  }

  /** The events received so far, oldest first; a copy. */
  public List<JsonNode> events() {
    return List.copyOf(events);
  }

  @Override
  public void close() {
    try {
      selector.close();
    } catch (IOException e) {
      // nothing left to release
    }
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to release
    }
  }

  private void write(byte[] json) throws IOException {
    ByteBuffer out = ByteBuffer.allocate(json.length + 1).put(json).put((byte) '\n').flip();
    while (out.hasRemaining()) {
      channel.write(out); // a command is tiny: the socket buffer takes it at once
    }
  }

  private JsonNode readMessage() throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      in.flip();
      while (in.hasRemaining()) {
        byte b = in.get();
        if (b == '\n') {
          in.compact();
          byte[] text = line.toByteArray();
          line.reset();
          return JSON.readTree(text);
        }
        line.write(b);
      }
      in.clear();
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IOException("no QMP answer within " + timeout.toMillis() + " ms");
      }
      selector.select(Math.max(1, left / 1_000_000));
      selector.selectedKeys().clear();
      int read = channel.read(in);
      if (read < 0) {
        throw new IOException("QEMU closed its QMP socket (it exited?)"
            + (line.size() > 0 ? "; partial message: "
                + line.toString(StandardCharsets.UTF_8) : ""));
      }
    }
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the QMP socket", e);
    }
  }
}
