package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A gateway at its open-files limit: run in a child JVM under {@code prlimit --nofile=N:N} (the
 * limit of the test's own JVM cannot be lowered safely), it takes WebSocket-style tunnels until it
 * has no descriptor left. Past that point every new client must get a 503 (or a clean close), never
 * a hang; the tunnels already open must keep echoing; the log must say so in a bounded number of
 * lines; and once tunnels close, new ones must work again. Every socket read has a timeout, as a
 * guard against exactly the hang this is about.
 */
class GatewayDescriptorLimitTest {

  /** Small enough to reach in a second, large enough for the JVM's own descriptors. */
  private static final int LIMIT = 256;
  private static final int MAX_TUNNELS = 400; // a bound: the limit stops this far earlier
  private static final int HANG_GUARD_MS = 15_000;
  private static final String UPGRADE = "GET /ws HTTP/1.1\r\nHost: gateway\r\nX-Session-ID: s1\r\n"
      + "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

  private final List<Socket> sockets = new ArrayList<>();
  private UpgradeEchoWorker worker;
  private Process gateway;
  private Path log;

  @AfterEach
  void cleanUp() throws Exception {
    for (Socket s : sockets) {
      s.close();
    }
    if (gateway != null) {
      gateway.getOutputStream().close(); // the child closes its gateway when stdin ends
      if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
        gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (worker != null) {
      worker.close();
    }
    if (log != null) {
      Files.deleteIfExists(log);
    }
  }

  @Test
  void pastTheDescriptorLimitNewClientsGet503TunnelsKeepWorkingAndTheGatewayRecovers()
      throws Exception {
    assumeThat(Path.of("/usr/bin/prlimit")).as("prlimit (util-linux) is installed").exists();
    worker = new UpgradeEchoWorker();
    log = Files.createTempFile("herd-fd-limit", ".log");
    long started = System.nanoTime();
    gateway = new ProcessBuilder("/usr/bin/prlimit", "--nofile=" + LIMIT + ":" + LIMIT,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Xmx128m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
        DescriptorLimitGatewayMain.class.getName(), worker.uri().toString())
        .redirectError(log.toFile())
        .start();
    BufferedReader out = new BufferedReader(
        new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    assertThat(first).as("the child gateway's first line (log: %s)", logText()).startsWith("port ");
    int port = Integer.parseInt(first.substring("port ".length()));

    // 1. Tunnels until the gateway says it is out of descriptors.
    List<Socket> tunnels = new ArrayList<>();
    Answer refusal = null;
    for (int i = 0; i < MAX_TUNNELS && refusal == null; i++) {
      Socket s = connect(port);
      Answer a = upgrade(s);
      if (a.status() == 101) {
        tunnels.add(s);
        assertEchoes(s, "tunnel " + i);
      } else {
        refusal = a;
        s.close();
      }
    }
    assertThat(refusal).as("the gateway ran out of descriptors before %d tunnels", MAX_TUNNELS)
        .isNotNull();
    assertThat(tunnels.size()).as("tunnels open at the limit").isGreaterThan(20);
    assertRefused(refusal);

    // 2. Connections that hold a descriptor without a worker connection (half a head), so that
    // the next clients find none left at accept, then more tunnels: each is refused, none hangs.
    for (int i = 0; i < 3; i++) {
      Socket holder = connect(port);
      holder.getOutputStream().write("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
      holder.getOutputStream().flush();
    }
    for (int i = 0; i < 20; i++) {
      try (Socket s = connect(port)) {
        assertRefused(upgrade(s));
      }
    }

    // 3. The tunnels open before the limit still work.
    for (int i = 0; i < tunnels.size(); i++) {
      assertEchoes(tunnels.get(i), "again " + i);
    }

    // 4. The refusals were counted (at accept, at least those after the holders: whether the
    // first refusals came at accept or at the worker connection depends on whether the limit
    // left an odd descriptor); the log has a bounded number of lines about them.
    gateway.getOutputStream().write("counts\n".getBytes(StandardCharsets.US_ASCII));
    gateway.getOutputStream().flush();
    String[] counts = out.readLine().split(" ");
    long atAccept = Long.parseLong(counts[1]);
    long atWorker = Long.parseLong(counts[2]);
    assertThat(atAccept).as("refused at accept (%s)", logText()).isPositive();
    assertThat(atAccept + atWorker).as("every refused client was counted").isGreaterThanOrEqualTo(21);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    long refusalLines = logText().lines()
        .filter(l -> l.toLowerCase(Locale.ROOT).contains("too many open files")).count();
    assertThat(refusalLines).as("refusal lines in %d s:%n%s", seconds, logText())
        .isBetween(1L, 2 + seconds / 10);
    assertThat(logText().lines().filter(l -> l.startsWith("\tat ")))
        .as("no stack trace in the log:%n%s", logText()).isEmpty();
    assertThat(logText()).as("no warning from Netty per failed accept")
        .doesNotContain("exceptionCaught");

    // 5. Recovery: with half the tunnels and the holders gone, new tunnels work again.
    for (int i = 0; i < tunnels.size() / 2; i++) {
      tunnels.get(i).close();
    }
    for (Socket s : sockets) {
      if (!tunnels.contains(s)) {
        s.close();
      }
    }
    List<Socket> kept = tunnels.subList(tunnels.size() / 2, tunnels.size());
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
      Socket s = connect(port);
      if (upgrade(s).status() != 101) {
        s.close();
        return false;
      }
      assertEchoes(s, "after recovery");
      return true;
    });
    for (int i = 0; i < kept.size(); i++) {
      assertEchoes(kept.get(i), "kept " + i);
    }
  }

  /** What the gateway answered an upgrade: its status (-1 for a close without one) and head. */
  private record Answer(int status, String head) {}

  private Socket connect(int port) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(HANG_GUARD_MS);
    sockets.add(s);
    return s;
  }

  private static Answer upgrade(Socket s) throws IOException {
    try {
      s.getOutputStream().write(UPGRADE.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
    } catch (SocketException closedAlready) {
      // a refused client may find the connection closed before it sent: the answer is still read
    }
    String head = readHead(s.getInputStream());
    if (head.isEmpty()) {
      return new Answer(-1, head);
    }
    return new Answer(Integer.parseInt(head.substring(9, 12)), head);
  }

  /** The head up to its blank line, or what came before the end of the stream. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    try {
      for (int b; (b = in.read()) >= 0; ) {
        head.write(b);
        if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          break;
        }
      }
    } catch (SocketException reset) {
      // a reset after (or instead of) the answer: what was read stands
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static void assertRefused(Answer a) {
    if (a.status() == -1) {
      return; // a clean close without an answer is allowed; a hang is not (read timeout)
    }
    assertThat(a.status()).as("refusal: %s", a.head()).isEqualTo(503);
    assertThat(a.head().toLowerCase(Locale.ROOT)).as("refusal head")
        .contains("retry-after: 3", "connection: close");
  }

  private static void assertEchoes(Socket s, String text) {
    try {
      byte[] sent = (text + "\n").getBytes(StandardCharsets.US_ASCII);
      OutputStream out = s.getOutputStream();
      out.write(sent);
      out.flush();
      byte[] got = s.getInputStream().readNBytes(sent.length);
      assertThat(new String(got, StandardCharsets.US_ASCII)).as("echo through the tunnel")
          .isEqualTo(text + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }
}
