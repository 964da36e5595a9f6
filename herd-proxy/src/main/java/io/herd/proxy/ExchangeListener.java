package io.herd.proxy;

/**
 * Observes every exchange the gateway answers, for metrics and access logs; set with {@link
 * HerdGateway.Builder#exchangeListener}. Sees the gateway's own answers (400, 408, 503, 504, ...)
 * as well as the workers'.
 *
 * <p>Called on the client connection's event loop, once per exchange: implementations must be
 * thread-safe, quick and never block. An exception thrown here is logged and otherwise ignored.
 */
@FunctionalInterface
public interface ExchangeListener {

  /** An exchange is over: its response was handed to the socket, or it could not be answered. */
  void exchangeCompleted(CompletedExchange exchange);
}
