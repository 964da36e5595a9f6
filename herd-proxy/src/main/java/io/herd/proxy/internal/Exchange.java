package io.herd.proxy.internal;

import io.herd.core.SessionLease;
import io.herd.proxy.PeerGateway;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One request/response exchange of a client connection: what was decided about the request when
 * it was admitted, and how far it got, as three phases: the exchange's own (admission, forwarding,
 * end), the request's (how much of it reached the worker) and the response's (how much of it
 * reached the client). Every decision about the exchange reads these phases; no combination of
 * flags stands for a phase.
 *
 * <pre>
 *   Phase:    QUEUED → ACQUIRING → CONNECTING → FORWARDING ⇄ (CONNECTING on a retry) → TUNNEL
 *                  ↘──────────────↘──────────────↘──────────────────────────────────────→ ENDED
 *   Request:  RECEIVING ⇄ WRITING;  RECEIVING → FINISHING → SENT      (the client owes bytes
 *                                                                      only in RECEIVING)
 *   Response: AWAITING ⇄ INTERIM;   AWAITING → RELAYING → READ → SENT  (nothing may follow READ)
 * </pre>
 *
 * <p>Not thread-safe: confined to the client connection's event loop, like its handler. Lives from
 * the request head until the response was written (or the tunnel closed), or the exchange failed;
 * {@link ProxyFrontendHandler} ends it exactly once (phase {@link Phase#ENDED}).
 */
final class Exchange {

  /** The pool the request was routed to; set at admission, before anything else reads it. */
  GatewayContext route;

  /** Where the exchange is in its life. */
  enum Phase {
    /** Waiting for the session's turn (a per-session concurrency limit is set). */
    QUEUED,
    /** Holding the session's turn, waiting for a lease from the pool. */
    ACQUIRING,
    /** Holding a lease, connecting to the worker (or taking a pooled connection). */
    CONNECTING,
    /** The request goes to the worker and the response comes back. */
    FORWARDING,
    /** The protocol switched: the connection is a byte tunnel holding the lease until it closes. */
    TUNNEL,
    /** Over: turn, lease and worker connection were given back. */
    ENDED
  }

  /** How much of the request reached the worker. */
  enum RequestPhase {
    /** Waiting for the next piece from the client (which, with a body, owes bytes). */
    RECEIVING,
    /** A body piece is being written to the worker. */
    WRITING,
    /** The last piece is being written to the worker. */
    FINISHING,
    /** The whole request was written to the worker. */
    SENT
  }

  /** How much of the response reached the client. */
  enum ResponsePhase {
    /** No response head yet. */
    AWAITING,
    /** An informational (1xx) response is being skipped. */
    INTERIM,
    /** The head went to the client; the body is being relayed. */
    RELAYING,
    /** The last piece was read from the worker: anything the worker sends now is out of turn. */
    READ,
    /** The last piece was written to the client. */
    SENT
  }

  /** Where the worker connection came from. */
  enum Upstream {
    NONE,
    /** An idle keep-alive connection from the pool: it may turn out to be dead. */
    POOLED,
    /** A new connection. */
    FRESH,
    /** A new connection after a pooled one died before answering. */
    RETRY
  }

  /** The session's key in the pool (the id only, for signed keys). */
  final String key;
  final HttpRequest upstreamRequest;
  final boolean head;
  final boolean upgrade;
  final boolean clientHttp10;
  final boolean expectContinue;
  /** Safe to send again on a fresh connection when a pooled one turns out to be dead. */
  final boolean retryable;
  /** A key the gateway minted for this client, sent back as a cookie; null otherwise. */
  final String issuedCookie;
  /**
   * The origin-form target as the client sent it, before the key rule rewrote it for a worker:
   * what a peer gateway gets (it applies the key rule itself) and what a hop signs.
   */
  final String target;
  /** The request came from a peer gateway with a valid hop signature: it is never sent on. */
  final boolean forwardedHop;

  Phase phase = Phase.QUEUED;
  RequestPhase request = RequestPhase.RECEIVING;
  ResponsePhase response = ResponsePhase.AWAITING;
  Upstream source = Upstream.NONE;

  /** The client connection closes after this exchange (no keep-alive, drain, unread request). */
  boolean closeAfter;
  /** The worker's response allows reusing its connection; cleared when the worker misbehaves. */
  boolean upstreamKeepAlive;

  /**
   * Set at admission when the gateway rewrites DevTools links and this is a discovery request:
   * where the answer's links must point. Null otherwise.
   */
  DevToolsLinks devtools;
  /** The discovery answer being held back for rewriting, while it is; owns its bytes. */
  DevToolsResponse held;

  SessionGates.Waiter waiter;
  ScheduledFuture<?> waitTimer;
  CompletableFuture<SessionLease> acquire;
  SessionLease lease;
  Channel upstream;

  Exchange(
      String key,
      HttpRequest upstreamRequest,
      boolean head,
      boolean upgrade,
      boolean clientHttp10,
      boolean expectContinue,
      boolean retryable,
      String issuedCookie,
      String target,
      boolean forwardedHop) {
    this.key = key;
    this.upstreamRequest = upstreamRequest;
    this.head = head;
    this.upgrade = upgrade;
    this.clientHttp10 = clientHttp10;
    this.expectContinue = expectContinue;
    this.retryable = retryable;
    this.issuedCookie = issuedCookie;
    this.target = target;
    this.forwardedHop = forwardedHop;
  }

  boolean ended() {
    return phase == Phase.ENDED;
  }

  /** Whether no response head reached the client yet, so the gateway can still answer itself. */
  boolean canAnswer() {
    return response == ResponsePhase.AWAITING || response == ResponsePhase.INTERIM;
  }

  /**
   * Milliseconds the lease waited for its worker, when it waited at all; -1 for a lease on a peer
   * gateway, whose own answer says whether it started the session.
   */
  long coldStartMillis() {
    return lease == null || lease.waited().isZero() || peer() != null
        ? -1 : lease.waited().toMillis();
  }

  /** The peer gateway the lease sends this exchange to, or null for a local worker. */
  PeerGateway peer() {
    return lease != null && lease.worker() instanceof PeerGateway p ? p : null;
  }
}
