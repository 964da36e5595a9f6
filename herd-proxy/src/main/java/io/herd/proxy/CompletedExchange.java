package io.herd.proxy;

import java.time.Duration;

/**
 * One finished exchange, as an {@link ExchangeListener} sees it. Immutable.
 *
 * @param method the request method, or {@code "-"} when the request was not even parsed (e.g. a
 *     431 for a header block too large, a 408 for headers that never ended)
 * @param status the status sent to the client: {@code 101} for a protocol switch (the tunnel's
 *     life is not part of the exchange), {@code 0} when the connection closed before any
 *     response head was sent
 * @param duration from the request head (or the first byte, when unparsed) to the response's last
 *     piece handed to the socket, or to the close
 * @param outcome who answered and why: {@link #WORKER} when the worker's response was relayed,
 *     else the tag of the gateway's reason, one per refusal or failure (e.g. {@code missing_key},
 *     {@code body_timeout}, {@code acquire_timeout}; see the gateway's package documentation),
 *     or {@link #NONE} when nothing was answered. A bounded set, fit for a metric tag. A peer
 *     gateway's answer to a forwarded request counts as {@link #WORKER}
 * @param forwardedTo the node of the peer gateway this gateway sent the request to (the session
 *     is owned there), or null when it was served by a local worker or not routed at all
 * @param forwardedHop whether the request arrived from a peer gateway as a validly signed hop
 * @param pool the name of the pool the request was routed to, or null when it was refused before
 *     a pool was selected (or none matched)
 */
public record CompletedExchange(String method, int status, Duration duration, String outcome,
    String forwardedTo, boolean forwardedHop, String pool) {

  /** An exchange whose pool is not known. */
  public CompletedExchange(String method, int status, Duration duration, String outcome,
      String forwardedTo, boolean forwardedHop) {
    this(method, status, duration, outcome, forwardedTo, forwardedHop, null);
  }

  /** The outcome of an exchange the worker answered. */
  public static final String WORKER = "worker";

  /** The outcome of an exchange that ended without any answer. */
  public static final String NONE = "none";

  /** An exchange of this gateway alone: not forwarded to a peer, nor arrived from one. */
  public CompletedExchange(String method, int status, Duration duration, String outcome) {
    this(method, status, duration, outcome, null, false);
  }

  /** An exchange without a known outcome: the worker's, or none when nothing was answered. */
  public CompletedExchange(String method, int status, Duration duration) {
    this(method, status, duration, status == 0 ? NONE : WORKER);
  }
}
