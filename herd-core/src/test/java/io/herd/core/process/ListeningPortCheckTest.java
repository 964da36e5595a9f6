package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.process.ListeningPortCheck.State;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ListeningPortCheck} against real loopback sockets. */
class ListeningPortCheckTest {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  @Test
  void closedPortIsNotYetListeningAndSaysConnectionRefused() throws IOException {
    int port = freePort();
    try (ListeningPortCheck check = new ListeningPortCheck(new InetSocketAddress(LOOPBACK, port))) {
      for (int i = 0; i < 3; i++) {
        assertThat(check.check()).isEqualTo(State.NOT_YET);
      }
      assertThat(check.lastDetail()).isEqualTo("connection refused");
      assertThat(check.attempts()).as("a refused connect is decided at once on loopback")
          .isEqualTo(3);
    }
  }

  @Test
  void portThatStartsListeningIsSeenAtTheNextCheck() throws IOException {
    int port = freePort();
    try (ListeningPortCheck check = new ListeningPortCheck(new InetSocketAddress(LOOPBACK, port))) {
      assertThat(check.check()).isEqualTo(State.NOT_YET);
      try (ServerSocket server = new ServerSocket(port, 50, LOOPBACK)) {
        assertThat(check.check()).isEqualTo(State.LISTENING);
        assertThat(check.lastDetail()).isEqualTo("listening");
        try (Socket accepted = server.accept()) {
          assertThat(accepted.getInputStream().read())
              .as("the check's connection is closed without a byte sent").isEqualTo(-1);
        }
      }
    }
  }

  @Test
  void portThatStopsListeningIsNotListeningAnyMore() throws IOException {
    int port;
    try (ServerSocket server = new ServerSocket(0, 50, LOOPBACK);
        ListeningPortCheck check =
            new ListeningPortCheck(new InetSocketAddress(LOOPBACK, server.getLocalPort()))) {
      port = server.getLocalPort();
      assertThat(check.check()).isEqualTo(State.LISTENING);
      server.close();
      assertThat(check.check()).isEqualTo(State.NOT_YET);
      assertThat(check.lastDetail()).isEqualTo("connection refused");
    }
    assertThat(port).isPositive();
  }

  /**
   * A listener whose accept queue is full drops SYNs, so a connect stays in flight: the check
   * keeps it (one connect, not one per check) and gives it up after {@link
   * ListeningPortCheck#MAX_PENDING_CHECKS} checks for a fresh one.
   */
  @Test
  void connectInFlightIsFinishedByLaterChecksAndRetriedWhenItNeverAnswers() throws IOException {
    List<SocketChannel> fillers = new ArrayList<>();
    try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
      InetSocketAddress address = new InetSocketAddress(LOOPBACK, server.getLocalPort());
      // Fill the accept queue (backlog 1 admits two) until a connect no longer completes at once.
      SocketChannel probe = null;
      for (int i = 0; i < 8 && probe == null; i++) {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(false);
        fillers.add(ch);
        if (!ch.connect(address) && !ch.finishConnect()) {
          probe = ch;
        }
      }
      assertThat(probe).as("a connect left in flight by a full accept queue").isNotNull();
      try (ListeningPortCheck check = new ListeningPortCheck(address)) {
        assertThat(check.check()).isEqualTo(State.NOT_YET);
        assertThat(check.lastDetail()).isEqualTo("connect in flight");
        for (int i = 1; i < ListeningPortCheck.MAX_PENDING_CHECKS; i++) {
          check.check();
        }
        assertThat(check.attempts()).as("the connect in flight is finished, not repeated")
            .isEqualTo(1);
        check.check();
        assertThat(check.attempts()).as("given up after MAX_PENDING_CHECKS, then a new one")
            .isEqualTo(2);
        // Make room: the queued connections are accepted, and the next check gets through.
        for (int i = 0; i < fillers.size() + 2; i++) {
          server.setSoTimeout(200);
          try {
            server.accept().close();
          } catch (java.net.SocketTimeoutException e) {
            break;
          }
        }
        State state = State.NOT_YET;
        for (int i = 0; i < 2 * ListeningPortCheck.MAX_PENDING_CHECKS + 2
            && state != State.LISTENING; i++) {
          state = check.check();
          if (state != State.LISTENING) {
            try {
              server.setSoTimeout(5);
              server.accept().close();
            } catch (java.net.SocketTimeoutException e) {
              // nothing queued yet
            }
          }
        }
        assertThat(state).isEqualTo(State.LISTENING);
      }
    } finally {
      for (SocketChannel ch : fillers) {
        ch.close();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, LOOPBACK)) {
      return socket.getLocalPort();
    }
  }
}
