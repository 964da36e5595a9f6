package io.herd.proxy;

import io.herd.core.WorkerFactory;
import io.herd.core.testing.ObjectWorkerFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plain-socket server on loopback, one thread per connection, for test workers that must read
 * and write raw bytes (a response the gateway must refuse, a record of exactly what it sent) where
 * an HTTP library would hide them. Connections are numbered from 0 in accept order.
 *
 * <p>A subclass calls {@link #start()} at the end of its constructor, once its own fields are set
 * (the accepting thread reads them). Lives until {@link #close()}, which closes the listener and
 * every connection and waits for their threads.
 */
abstract class LoopbackSocketServer implements AutoCloseable {

  private final ServerSocket server;
  private final String name;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  LoopbackSocketServer(String name, int backlog) {
    this.name = name;
    try {
      server = new ServerSocket(0, backlog, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = new Thread(this::accept, name + "-accept");
    acceptor.setDaemon(true);
  }

  /** Starts accepting; called once by the subclass's constructor, last. */
  protected final void start() {
    acceptor.start();
  }

  /** Serves connection number {@code connection} on this thread; closes {@code s} when done. */
  protected abstract void serve(int connection, Socket s);

  /** Workers that all live at this server. */
  WorkerFactory factory() {
    return new ObjectWorkerFactory(uri(), OptionalLong.empty());
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  /** Connections accepted so far. */
  int connections() {
    return sockets.size();
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        return;
      }
      int number = sockets.size(); // only this thread adds
      sockets.add(s);
      Thread t = new Thread(() -> serve(number, s), name + "-" + number);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    try {
      acceptor.join(5_000);
      for (Thread t : threads) {
        t.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
