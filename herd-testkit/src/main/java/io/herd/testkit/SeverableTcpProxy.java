package io.herd.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on a loopback port in front of one target, whose link a test can cut: the way to
 * partition one client (a gateway) from a server (etcd) while everyone else still reaches it.
 *
 * <ul>
 *   <li>{@link #sever()}: every open connection is closed at once (both sides see the close), and
 *       new connections are accepted and closed straight away, until {@link #heal()}. The client
 *       notices quickly: like a crashed server or a reset link.
 *   <li>{@link #blackhole()}: connections stay open but every byte is dropped, both ways, and new
 *       connections are accepted and then ignored, until {@link #heal()}. The client notices only
 *       through its own timeouts: like a silent network partition. Connections that lost bytes are
 *       closed by {@link #heal()}, since their streams are corrupt.
 *   <li>{@link #heal()}: forwards again.
 * </ul>
 *
 * <pre>{@code
 * try (SeverableTcpProxy link = new SeverableTcpProxy(etcd.clientUrl())) {
 *   client.connect(link.url());
 *   link.sever();   // the client is cut off
 *   link.heal();    // and back
 * }
 * }</pre>
 *
 * <p>Blocking sockets, one accept thread and two daemon threads per connection: meant for a few
 * long-lived connections (a gRPC channel), not for load. Thread-safe. Lifetime: listening from
 * construction until {@link #close()}, which closes every connection and is idempotent.
 */
public final class SeverableTcpProxy implements AutoCloseable {

  private enum Mode {
    FORWARD,
    SEVERED,
    BLACKHOLE
  }

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final InetSocketAddress target;
  private final String scheme;
  private final ServerSocket server;
  private final String name;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile Mode mode = Mode.FORWARD;
  private volatile boolean closed;

  /**
   * A proxy to {@code target} ({@code scheme://host:port}; the scheme is only carried over to
   * {@link #url()}), listening on a free port of 127.0.0.1.
   */
  public SeverableTcpProxy(URI target) {
    this(new InetSocketAddress(target.getHost(), target.getPort()), target.getScheme());
  }

  /** A proxy to {@code target}, listening on a free port of 127.0.0.1; {@link #url()} is http. */
  public SeverableTcpProxy(InetSocketAddress target) {
    this(target, "http");
  }

  private SeverableTcpProxy(InetSocketAddress target, String scheme) {
    if (target.getPort() <= 0) {
      throw new IllegalArgumentException("the target has no port: " + target);
    }
    this.target = target;
    this.scheme = scheme == null ? "http" : scheme;
    this.name = "herd-testkit-proxy-" + SEQUENCE.incrementAndGet();
    try {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on a loopback port", e);
    }
    Thread acceptor = new Thread(this::acceptLoop, name + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The port the proxy listens on. */
  public int port() {
    return server.getLocalPort();
  }

  /** Where clients connect, e.g. {@code http://127.0.0.1:41234}. */
  public URI url() {
    return URI.create(scheme + "://127.0.0.1:" + port());
  }

  /** Closes every connection and refuses new ones (accept, then close) until {@link #heal()}. */
  public void sever() {
    mode = Mode.SEVERED;
    for (Link link : links) {
      link.close();
    }
  }

  /** Drops every byte, both ways, on open and new connections alike, until {@link #heal()}. */
  public void blackhole() {
    mode = Mode.BLACKHOLE;
  }

  /** Forwards again; closes the connections that lost bytes while blackholed. */
  public void heal() {
    mode = Mode.FORWARD;
    for (Link link : links) {
      if (link.dropped.get()) {
        link.close();
      }
    }
  }

  /** Whether the link is cut ({@link #sever()} or {@link #blackhole()} without {@link #heal()}). */
  public boolean isCut() {
    return mode != Mode.FORWARD;
  }

  /** Connections open now. */
  public int openConnections() {
    return links.size();
  }

  /** Connections accepted since construction, including refused ones. */
  public int acceptedConnections() {
    return accepted.get();
  }

  /** Stops listening and closes every connection. Idempotent. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Link link : links) {
      link.close();
    }
  }

  @Override
  public String toString() {
    return name + " " + url() + " -> " + target + " (" + mode + ")";
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      accepted.incrementAndGet();
      if (mode == Mode.SEVERED) {
        closeQuietly(client);
        continue;
      }
      Link link = new Link(client);
      links.add(link);
      // Re-check after registering: a sever() that ran meanwhile may have missed this link.
      if (mode == Mode.SEVERED || closed) {
        link.close();
        continue;
      }
      Thread opener = new Thread(link::open, name + "-open");
      opener.setDaemon(true);
      opener.start();
    }
  }

  /** One proxied connection: the client's socket and ours to the target. */
  private final class Link {
    private final Socket client;
    private final Socket upstream = new Socket();
    private final AtomicBoolean closedOnce = new AtomicBoolean();
    private final AtomicBoolean dropped = new AtomicBoolean();

    Link(Socket client) {
      this.client = client;
    }

    void open() {
      try {
        upstream.connect(target, 5_000);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
      } catch (IOException e) {
        close();
        return;
      }
      start("up", client, upstream);
      start("down", upstream, client);
    }

    private void start(String direction, Socket from, Socket to) {
      Thread pump = new Thread(() -> pump(from, to), name + "-" + direction);
      pump.setDaemon(true);
      pump.start();
    }

    private void pump(Socket from, Socket to) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          Mode now = mode;
          if (now == Mode.BLACKHOLE) {
            dropped.set(true);
            continue;
          }
          if (now == Mode.SEVERED || dropped.get()) {
            break; // a corrupt stream is never forwarded again
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // the other side or sever() closed the connection
      } finally {
        close();
      }
    }

    void close() {
      if (closedOnce.compareAndSet(false, true)) {
        closeQuietly(client);
        closeQuietly(upstream);
        links.remove(this);
      }
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing more to do
    }
  }
}
