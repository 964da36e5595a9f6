package io.herd.proxy.internal;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.PoolClosedException;
import io.herd.core.QueueFullException;
import io.herd.core.SessionEndedException;
import io.herd.core.WorkerStartException;
import io.herd.proxy.RouteUnavailableException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Every way an exchange can fail on the gateway's side of the client (the router, the pool, the
 * worker or peer gateway, the connection to it), with the status the client gets and whether
 * (and when) it should retry. The one
 * place that decides these mappings; the tag names metrics and log lines. Refusals of the client's
 * own request are {@link Refusal}s.
 */
public enum UpstreamFailure {
  QUEUE_FULL(HttpResponseStatus.SERVICE_UNAVAILABLE, true, "no worker is free and the queue is full"),
  ACQUIRE_TIMEOUT(HttpResponseStatus.SERVICE_UNAVAILABLE, true, "no worker became free in time"),
  SESSION_BUSY(
      HttpResponseStatus.SERVICE_UNAVAILABLE, true, "too many requests wait for this session"),
  SESSION_WAIT_TIMEOUT(
      HttpResponseStatus.SERVICE_UNAVAILABLE, true, "this session stayed busy for too long"),
  POOL_CLOSED(HttpResponseStatus.SERVICE_UNAVAILABLE, true, "the gateway is shutting down"),
  /** The session ended (e.g. by an operator) while this request waited for its worker. */
  SESSION_ENDED(HttpResponseStatus.SERVICE_UNAVAILABLE, true,
      "the session ended while this request waited for it; retry to start a new one"),
  /**
   * The session router cannot place the session now ({@link RouteUnavailableException}, e.g. the
   * shared session directory is unreachable): the body is the exception's message and {@code
   * Retry-After} its delay, rounded up to whole seconds (at least 1).
   */
  ROUTE_UNAVAILABLE(
      HttpResponseStatus.SERVICE_UNAVAILABLE, true, "the session cannot be placed right now"),
  /**
   * A request forwarded by a peer gateway reached a gateway that does not own its session either:
   * it is not sent on (at most one hop). {@code Retry-After: 1}, since the owner is known again
   * as soon as the peers agree.
   */
  MISDIRECTED(HttpResponseStatus.SERVICE_UNAVAILABLE, true,
      "misdirected: this gateway does not own the session"),
  /**
   * The gateway has no file descriptor left (EMFILE/ENFILE) for the connection to the worker, or
   * for the client connection itself ({@link DescriptorReserveHandler}): it is at its open-files
   * limit, and a descriptor frees up as soon as any connection closes.
   */
  OUT_OF_DESCRIPTORS(HttpResponseStatus.SERVICE_UNAVAILABLE, true,
      "the gateway has too many open connections (no file descriptor left)"),
  WORKER_START_FAILED(HttpResponseStatus.BAD_GATEWAY, true, "the session's worker failed to start"),
  CONNECT_REFUSED(HttpResponseStatus.BAD_GATEWAY, false, "the worker refused the connection"),
  /**
   * No route to the worker: an isolated worker that has just exited loses its network (its link
   * goes with its namespace), so a connect made after that fails with ENETUNREACH or EHOSTUNREACH,
   * which the JDK and Netty report as a {@link NoRouteToHostException}, not a {@link
   * ConnectException}.
   */
  WORKER_UNREACHABLE(HttpResponseStatus.BAD_GATEWAY, false, "the worker could not be reached"),
  CONNECT_TIMEOUT(
      HttpResponseStatus.GATEWAY_TIMEOUT, false, "the worker did not accept a connection in time"),
  RESET_BEFORE_RESPONSE(
      HttpResponseStatus.BAD_GATEWAY, false, "the worker closed the connection before responding"),
  RESPONSE_TIMEOUT(HttpResponseStatus.GATEWAY_TIMEOUT, false, "the worker did not respond in time"),
  BAD_RESPONSE(HttpResponseStatus.BAD_GATEWAY, false, "the worker sent a malformed response"),
  INTERNAL(HttpResponseStatus.INTERNAL_SERVER_ERROR, false, "the gateway failed");

  private final HttpResponseStatus status;
  private final boolean retryLater;
  private final String message;

  UpstreamFailure(HttpResponseStatus status, boolean retryLater, String message) {
    this.status = status;
    this.retryLater = retryLater;
    this.message = message;
  }

  /** The status the client gets. */
  public HttpResponseStatus status() {
    return status;
  }

  /** Whether the answer carries {@code Retry-After}. */
  public boolean retryLater() {
    return retryLater;
  }

  /** One short sentence for the error body. */
  public String message() {
    return message;
  }

  /**
   * The answer's body sentence for this failure, caused by {@code cause} (may be null): the
   * router's own message for {@link #ROUTE_UNAVAILABLE}, else {@link #message()}.
   */
  public String message(Throwable cause) {
    if (this == ROUTE_UNAVAILABLE && unwrap(cause) instanceof RouteUnavailableException r
        && r.getMessage() != null && !r.getMessage().isBlank()) {
      return r.getMessage();
    }
    return message;
  }

  /**
   * The answer's {@code Retry-After} in seconds, 0 for none: the router's delay for {@link
   * #ROUTE_UNAVAILABLE} (rounded up, at least 1: a 503 that says "retry after 0" invites a
   * hammering), 1 for {@link #MISDIRECTED}, else {@code configured} when the failure is one to
   * retry later.
   *
   * @param cause what failed, may be null
   * @param configured {@code proxy.retryAfter} in whole seconds
   */
  public long retryAfterSeconds(Throwable cause, long configured) {
    if (!retryLater) {
      return 0;
    }
    if (this == MISDIRECTED) {
      return 1;
    }
    if (this == ROUTE_UNAVAILABLE && unwrap(cause) instanceof RouteUnavailableException r) {
      long ms = r.retryAfter().toMillis();
      return Math.max(1, ms / 1000 + (ms % 1000 > 0 ? 1 : 0));
    }
    return configured;
  }

  /** Tag for metrics and logs, e.g. {@code queue_full}. */
  public String tag() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Classifies a failed acquire or connect. */
  public static UpstreamFailure classify(Throwable error) {
    Throwable t = unwrap(error);
    if (DescriptorExhaustion.isCause(t)) {
      return OUT_OF_DESCRIPTORS; // first: a worker that could not start for want of one, too
    } else if (t instanceof RouteUnavailableException) {
      return ROUTE_UNAVAILABLE;
    } else if (t instanceof QueueFullException) {
      return QUEUE_FULL;
    } else if (t instanceof AcquireTimeoutException) {
      return ACQUIRE_TIMEOUT;
    } else if (t instanceof PoolClosedException) {
      return POOL_CLOSED;
    } else if (t instanceof SessionEndedException) {
      return SESSION_ENDED;
    } else if (t instanceof WorkerStartException) {
      return WORKER_START_FAILED;
    } else if (t instanceof ConnectTimeoutException) {
      return CONNECT_TIMEOUT;
    } else if (t instanceof ConnectException) {
      return CONNECT_REFUSED;
    } else if (t instanceof NoRouteToHostException) {
      return WORKER_UNREACHABLE;
    }
    return INTERNAL;
  }

  private static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
