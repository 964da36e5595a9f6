package io.herd.proxy;

/**
 * Receives one {@link AccessLogEntry} per request, for an access log; set with {@link
 * HerdGateway.Builder#accessLog}. Sees every request: the workers' answers, the gateway's own
 * (400, 408, 429, 503, ...), and WebSocket tunnels when they close. The gateway itself formats
 * and writes nothing, so it stays free of any logging backend.
 *
 * <p>Called on the client connection's event loop, once per request, when it is over:
 * implementations must be thread-safe, quick and never block (hand the entry to an asynchronous
 * writer). An exception thrown here is logged and otherwise ignored.
 */
@FunctionalInterface
public interface AccessLogListener {

  /** A request is over; {@code entry} says what happened. */
  void requestCompleted(AccessLogEntry entry);
}
