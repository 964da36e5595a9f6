package io.herd.core.process;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;

/**
 * Whether a starting worker listens on its port yet, asked by non-blocking TCP connects that never
 * wait: {@link #check()} starts a connect, or finishes the one the previous check left in flight,
 * and returns at once. {@link WorkerStartup} calls it every millisecond while a worker starts,
 * and sends its one HTTP health probe only once the port answers.
 *
 * <p>Why a connect rather than the HTTP probe itself at that pace: until the worker listens,
 * every attempt meets a closed port, and a connect that is refused costs three system calls on
 * the calling thread (socket, connect, close) with no I/O thread, request, deadline task or future
 * involved. On loopback the kernel has refused (or accepted) the connection by the time {@code
 * connect} returns, so one check decides; through a worker's own network namespace the answer
 * crosses a veth pair and may come a little later, so a connect still in flight is kept and
 * finished by the next check (a new one is started only once it failed).
 *
 * <p>A successful connect is closed at once, before a byte is sent: the worker sees one empty
 * connection, then the health probe's.
 *
 * <p>Not thread-safe: owned by one startup's probe chain, whose steps run one after another.
 * Lifetime: until {@link #close()}, which the chain calls however the start ends.
 */
final class ListeningPortCheck implements AutoCloseable {

  /** What one check found. */
  enum State {
    /** The port accepted a connection. */
    LISTENING,
    /** Refused, or not answered yet: ask again later. */
    NOT_YET
  }

  /**
   * After this many checks a connect still in flight is given up and a new one started: a SYN
   * that was lost (a namespace's firewall not loaded yet) is not answered at all.
   */
  static final int MAX_PENDING_CHECKS = 50;

  private final InetSocketAddress address;
  /** A connect still in flight from an earlier check, else null. */
  private SocketChannel pending;
  /** How many checks found {@link #pending} still in flight. */
  private int pendingChecks;
  private String lastDetail = "no connect attempt yet";
  private int attempts;

  ListeningPortCheck(InetSocketAddress address) {
    this.address = address;
  }

  /** Starts a connect or finishes the one in flight; never blocks. */
  State check() {
    if (pending != null) {
      State state = finish(pending);
      if (state == State.LISTENING) {
        return state;
      }
      if (pending != null && ++pendingChecks < MAX_PENDING_CHECKS) {
        return state; // still in flight
      }
      close();
    }
    pendingChecks = 0;
    attempts++;
    SocketChannel channel = null;
    try {
      channel = SocketChannel.open();
      channel.configureBlocking(false);
      if (channel.connect(address)) {
        closeQuietly(channel);
        return listening();
      }
      return finish(channel);
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      lastDetail = describe(e);
      return State.NOT_YET;
    }
  }

  /** Finishes a connect in flight: keeps it in {@link #pending} while it still is. */
  private State finish(SocketChannel channel) {
    try {
      if (channel.finishConnect()) {
        closeQuietly(channel);
        pending = null;
        return listening();
      }
      pending = channel;
      lastDetail = "connect in flight";
      return State.NOT_YET;
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      pending = null;
      lastDetail = describe(e);
      return State.NOT_YET;
    }
  }

  private State listening() {
    lastDetail = "listening";
    return State.LISTENING;
  }

  /** What the last check found, for error messages: "connection refused", say. */
  String lastDetail() {
    return lastDetail;
  }

  /** How many connects were started. */
  int attempts() {
    return attempts;
  }

  /** Closes a connect still in flight. Idempotent. */
  @Override
  public void close() {
    if (pending != null) {
      closeQuietly(pending);
      pending = null;
    }
  }

  private static String describe(Exception e) {
    if (e instanceof ConnectException) {
      return "connection refused";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.toString();
  }

  private static void closeQuietly(SocketChannel channel) {
    if (channel == null) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      // a socket we no longer need; nothing to report
    }
  }
}
