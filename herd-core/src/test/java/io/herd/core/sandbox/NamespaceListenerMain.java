package io.herd.core.sandbox;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A stand-in for a service outside the worker, for {@link SandboxNetworkTest}: started by {@link
 * TestNamespace} inside a network namespace the test created, it listens on {@code 0.0.0.0} on
 * each port given, accepts and closes every connection, prints {@code listening} once all ports
 * are bound, and exits when its standard input closes (so it dies with the test JVM).
 */
public final class NamespaceListenerMain {

  private NamespaceListenerMain() {}

  public static void main(String[] args) throws Exception {
    for (String port : args) {
      ServerSocket server = new ServerSocket();
      server.bind(new InetSocketAddress("0.0.0.0", Integer.parseInt(port)), 50);
      Thread acceptor = new Thread(() -> acceptForever(server), "accept-" + port);
      acceptor.setDaemon(true);
      acceptor.start();
    }
    System.out.println("listening");
    System.out.flush();
    while (System.in.read() >= 0) {
      // until the test closes our input, or dies
    }
  }

  private static void acceptForever(ServerSocket server) {
    while (true) {
      try (Socket client = server.accept()) {
        client.getOutputStream().write('x');
      } catch (IOException e) {
        return;
      }
    }
  }
}
