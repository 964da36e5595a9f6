package io.herd.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SeverableTcpProxyTest {

  private ServerSocket echo;
  private SeverableTcpProxy proxy;

  @BeforeEach
  void startEchoServerAndProxy() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::echoLoop, "echo-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    proxy = new SeverableTcpProxy((InetSocketAddress) echo.getLocalSocketAddress());
  }

  @AfterEach
  void close() throws IOException {
    proxy.close();
    echo.close();
  }

  @Test
  void forwardsBothWays() throws IOException {
    try (Socket socket = connect()) {
      assertThat(roundTrip(socket, "hello")).isEqualTo("hello");
      assertThat(roundTrip(socket, "again")).isEqualTo("again");
    }
    assertThat(proxy.url().toString()).startsWith("http://127.0.0.1:");
  }

  @Test
  void severClosesOpenConnectionsAndRefusesNewOnesUntilHealed() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "before")).isEqualTo("before");
      proxy.sever();
      assertThat(proxy.isCut()).isTrue();
      assertThat(readOrEnd(open)).as("an open connection after sever()").isEqualTo(-1);
    }
    try (Socket refused = connect()) {
      assertThat(readOrEnd(refused)).as("a new connection while severed").isEqualTo(-1);
    }
    proxy.heal();
    try (Socket healed = connect()) {
      assertThat(roundTrip(healed, "after")).isEqualTo("after");
    }
  }

  @Test
  void blackholeDropsBytesAndHealClosesTheCorruptConnections() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "before")).isEqualTo("before");
      proxy.blackhole();
      open.getOutputStream().write("lost".getBytes(StandardCharsets.US_ASCII));
      open.setSoTimeout(300);
      assertThatThrownBy(() -> open.getInputStream().read())
          .as("nothing comes back through a blackhole")
          .isInstanceOf(SocketTimeoutException.class);
      proxy.heal();
      open.setSoTimeout(5_000);
      assertThat(readOrEnd(open)).as("a connection that lost bytes, after heal()").isEqualTo(-1);
    }
    try (Socket healed = connect()) {
      assertThat(roundTrip(healed, "after")).isEqualTo("after");
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    socket.setSoTimeout(5_000);
    return socket;
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    socket.getOutputStream().write(bytes);
    byte[] answer = socket.getInputStream().readNBytes(bytes.length);
    return new String(answer, StandardCharsets.US_ASCII);
  }

  private static int readOrEnd(Socket socket) {
    try {
      return socket.getInputStream().read();
    } catch (IOException e) {
      return -1; // a reset is an end too
    }
  }

  private void echoLoop() {
    while (!echo.isClosed()) {
      try {
        Socket socket = echo.accept();
        Thread pump = new Thread(() -> echo(socket), "echo");
        pump.setDaemon(true);
        pump.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void echo(Socket socket) {
    try (socket;
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // the test closed it
    }
  }
}
