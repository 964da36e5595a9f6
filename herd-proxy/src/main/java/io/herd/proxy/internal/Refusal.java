package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Locale;

/**
 * Every reason the gateway refuses a client's request itself, with the status the client gets and
 * the tag that names it in metrics and logs. The one place that decides these mappings, as {@link
 * UpstreamFailure} is for failures on the worker's side; {@link ErrorResponses} turns either into
 * an answer. A refusal always ends the connection (the request may not have been read to its
 * end), after a complete status line.
 */
public enum Refusal {
  /** Framing or syntax the gateway will not forward: two parsers could read it differently. */
  MALFORMED(HttpResponseStatus.BAD_REQUEST, "malformed request"),
  URI_TOO_LONG(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line too long"),
  HEADERS_TOO_LARGE(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request headers too large"),
  /** A request target that is not origin-form ({@code /path}), nor a usable absolute-form. */
  BAD_TARGET(HttpResponseStatus.BAD_REQUEST, "the request target must be a path starting with /"),
  /** An HTTP/1.1 request without exactly one Host, an HTTP/1.0 one with more than one. */
  BAD_HOST(HttpResponseStatus.BAD_REQUEST,
      "a request needs exactly one Host header (HTTP/1.0: at most one)"),
  /** A gateway with several pools: no pool's {@code match} takes the request's host and path. */
  NO_POOL(HttpResponseStatus.NOT_FOUND, "no pool serves this request"),
  MISSING_KEY(HttpResponseStatus.BAD_REQUEST, "missing session key"),
  INVALID_KEY(HttpResponseStatus.BAD_REQUEST, "invalid session key"),
  /** The request names two different sessions (two headers, cookies or parameters). */
  CONFLICTING_KEYS(HttpResponseStatus.BAD_REQUEST, "more than one session key"),
  /** With a signing secret: a key that is not validly signed. */
  UNSIGNED_KEY(HttpResponseStatus.FORBIDDEN, "session key is not validly signed"),
  /** With a signing secret and {@code session.keyTtl}: a validly signed key past its expiry. */
  EXPIRED_KEY(HttpResponseStatus.UNAUTHORIZED, "session key has expired"),
  /**
   * An {@code X-Herd-Hop} header that is not a valid hop from a peer gateway of this cluster:
   * malformed, repeated, signed with another secret or for another request, too old or new, or
   * sent to a gateway that forwards no hops. Nothing of the request reaches the router or a
   * worker.
   */
  INVALID_HOP(
      HttpResponseStatus.FORBIDDEN, "forwarded request with an invalid X-Herd-Hop signature"),
  EXPECTATION_FAILED(HttpResponseStatus.EXPECTATION_FAILED, "only Expect: 100-continue is supported"),
  /** CONNECT: the gateway routes requests to workers, it does not open tunnels to hosts. */
  METHOD_NOT_IMPLEMENTED(HttpResponseStatus.NOT_IMPLEMENTED, "CONNECT is not supported"),
  /** A transfer coding other than chunked (RFC 9112 §6.1: 501 for codings not understood). */
  CODING_NOT_IMPLEMENTED(
      HttpResponseStatus.NOT_IMPLEMENTED, "only the chunked transfer coding is supported"),
  VERSION_NOT_SUPPORTED(
      HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.1 and HTTP/1.0 are supported"),
  /** The request head did not arrive within {@code proxy.headerTimeout}. */
  HEADER_TIMEOUT(HttpResponseStatus.REQUEST_TIMEOUT, "request headers not received in time"),
  /** The client owed body bytes and sent none for {@code proxy.bodyTimeout}. */
  BODY_TIMEOUT(HttpResponseStatus.REQUEST_TIMEOUT, "request body not received in time");

  private final HttpResponseStatus status;
  private final String message;

  Refusal(HttpResponseStatus status, String message) {
    this.status = status;
    this.message = message;
  }

  /** The status the client gets. */
  public HttpResponseStatus status() {
    return status;
  }

  /** One short sentence for the answer's body, when the case has nothing more specific. */
  public String message() {
    return message;
  }

  /** Tag for metrics and logs, e.g. {@code missing_key}. */
  public String tag() {
    return name().toLowerCase(Locale.ROOT);
  }
}
