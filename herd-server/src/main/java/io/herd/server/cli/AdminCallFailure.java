package io.herd.server.cli;

import io.herd.server.config.DurationFormat;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * How the commands that call a gateway's admin API ({@code herd status}, {@code herd logs}) tell
 * "no gateway there" from other failures, and say a failure in words. Stateless.
 */
final class AdminCallFailure {

  private AdminCallFailure() {}

  /** Whether nothing accepted the connection: no gateway there (or its admin API is off). */
  static boolean refused(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConnectException && !(t instanceof HttpConnectTimeoutException)) {
        return true;
      }
    }
    return false;
  }

  /**
   * An I/O failure in words: some (a refused connect, a timeout) have no message of their own.
   *
   * @param timeout the request timeout, named when it ran out
   */
  static String describe(IOException e, Duration timeout) {
    if (e instanceof HttpTimeoutException) {
      return "no answer within " + DurationFormat.format(timeout);
    }
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
