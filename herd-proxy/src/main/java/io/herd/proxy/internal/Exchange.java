package io.herd.proxy.internal;

import io.herd.core.SessionLease;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * The state of one request/response exchange of a client connection: its session key, its turn
 * at the session gate, its lease, its worker connection and how far each direction got.
 *
 * <p>Not thread-safe: confined to the client connection's event loop, like its handler. Lives from
 * the request head until the response was written (or the tunnel closed), or the exchange failed;
 * {@link ProxyFrontendHandler} ends it exactly once ({@link #ended}).
 */
final class Exchange {

  final String key;
  final HttpRequest upstreamRequest;
  final boolean hasBody;
  final boolean head;
  final boolean upgrade;
  final boolean clientHttp10;
  final boolean expectContinue;
  /** Safe to send again on a fresh connection when a pooled one turns out to be dead. */
  final boolean retryable;
  /** A key the gateway minted for this client, sent back as a cookie; null otherwise. */
  final String issuedCookie;

  boolean closeAfter;

  SessionGates.Waiter waiter;
  ScheduledFuture<?> waitTimer;
  boolean admitted;
  CompletableFuture<SessionLease> acquire;
  SessionLease lease;

  Channel upstream;
  boolean reused;
  boolean retried;
  boolean continueSent;

  boolean bodyWriteInFlight;
  /** The request's last content was taken from the inbound queue. */
  boolean requestRead;
  /** ... and written to the worker. */
  boolean requestSent;

  boolean upstreamKeepAlive;
  boolean skipNextLast;
  boolean responseStarted;
  boolean responseRead;
  boolean responseSent;

  boolean ended;

  Exchange(
      String key,
      HttpRequest upstreamRequest,
      boolean hasBody,
      boolean head,
      boolean upgrade,
      boolean clientHttp10,
      boolean expectContinue,
      boolean retryable,
      String issuedCookie) {
    this.key = key;
    this.upstreamRequest = upstreamRequest;
    this.hasBody = hasBody;
    this.head = head;
    this.upgrade = upgrade;
    this.clientHttp10 = clientHttp10;
    this.expectContinue = expectContinue;
    this.retryable = retryable;
    this.issuedCookie = issuedCookie;
  }

  /** Milliseconds the lease waited for its worker, when it waited at all. */
  long coldStartMillis() {
    return lease == null || lease.waited().isZero() ? -1 : lease.waited().toMillis();
  }
}
