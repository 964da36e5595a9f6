package io.herd.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Compiles the counter server and talks to it as a host process, over real loopback TCP. */
class StaticBinaryTest {

  private Process server;

  @AfterEach
  void stopServer() throws InterruptedException {
    if (server != null) {
      server.destroyForcibly();
      server.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void compilesOnceIntoAStaticExecutable() throws IOException {
    Path binary = StaticBinary.counterServer();

    assertThat(Files.isExecutable(binary)).isTrue();
    assertThat(StaticBinary.counterServer()).as("cached per source").isEqualTo(binary);
    ByteBuffer elf = ByteBuffer.wrap(Files.readAllBytes(binary)).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(elf.getInt(0)).as("ELF magic").isEqualTo(0x464c457f);
    long programHeaders = elf.getLong(0x20);
    int entrySize = Short.toUnsignedInt(elf.getShort(0x36));
    for (int i = 0; i < Short.toUnsignedInt(elf.getShort(0x38)); i++) {
      assertThat(elf.getInt((int) programHeaders + i * entrySize))
          .as("program header %d: a static executable has no PT_INTERP (the dynamic loader)", i)
          .isNotEqualTo(3);
    }
  }

  @Test
  void counterServerAnswersItsRoutesAndExitsWithTheAskedCode() throws Exception {
    int port = freePort();
    server = new ProcessBuilder(StaticBinary.counterServer().toString(), Integer.toString(port))
        .redirectErrorStream(true).start();
    String listening = "counter-server: listening on " + port + "\n";
    assertThat(new String(server.getInputStream().readNBytes(listening.length()),
        StandardCharsets.UTF_8)).isEqualTo(listening);

    String first = get(port, "/count");
    String second = get(port, "/count");
    assertThat(first).startsWith("n=1 pid=" + server.pid() + " boot=");
    assertThat(second).isEqualTo(first.replace("n=1", "n=2"));
    assertThat(get(port, "/random")).matches("[0-9a-f]{32}").isNotEqualTo(get(port, "/random"));
    assertThat(get(port, "/env/PATH")).isEqualTo(System.getenv("PATH"));
    assertThat(get(port, "/cwd")).isEqualTo(Path.of("").toAbsolutePath().toString());
    assertThat(Long.parseLong(get(port, "/time"))).isPositive();
    assertThat(Long.parseLong(get(port, "/monotonic"))).isLessThan(
        Long.parseLong(get(port, "/monotonic")));
    assertThat(get(port, "/id")).startsWith("uid=");
    assertThat(get(port, "/exit/7")).isEqualTo("bye");
    assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(server.exitValue()).isEqualTo(7);
  }

  /** A GET sent in two TCP segments, to prove the server reads until the end of the headers. */
  static String get(int port, String path) throws IOException, InterruptedException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(20);
      out.write("Host: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertThat(response).startsWith("HTTP/1.1 200 OK\r\n");
      return response.substring(response.indexOf("\r\n\r\n") + 4);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
