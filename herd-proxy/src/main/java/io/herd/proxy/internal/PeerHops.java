package io.herd.proxy.internal;

import io.herd.proxy.HopSigner;
import io.herd.proxy.PeerGateway;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.AsciiString;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Both ends of a hop between the gateways of a cluster: the check of the {@value
 * HopSigner#HEADER} a request arrives with, and the preparation of a request this gateway sends
 * on to the peer gateway that owns its session.
 *
 * <p>A request goes to a peer exactly as to a worker (the same header rules, streaming, tunnels),
 * except that it keeps the target the client sent (the peer applies the session key rule itself,
 * e.g. strips a key segment for its worker) and carries a fresh hop signature. A request that
 * arrived as a hop is never sent on: at most one hop, so two gateways that disagree about an owner
 * cannot bounce a request between them.
 *
 * <p>Stateless; called on the client connection's event loop.
 */
final class PeerHops {

  private static final Logger log = LoggerFactory.getLogger(PeerHops.class);
  private static final AsciiString HEADER = AsciiString.cached(HopSigner.HEADER);

  /** What a request's hop header says. */
  enum Inbound {
    /** No hop header: a client's own request. */
    NONE,
    /** A valid hop from a peer gateway: served locally or refused, never sent on. */
    VALID,
    /** A hop header that does not authenticate: refused with 403. */
    INVALID
  }

  private PeerHops() {}

  /**
   * Checks the request's hop header against the request as this gateway parsed it, and removes
   * it, valid or not: no worker ever sees one. An invalid one is logged at DEBUG, once.
   *
   * @param key the session's key in the pool
   * @param target the origin-form target as received (before the key rule rewrites it)
   */
  static Inbound check(GatewayContext gw, HttpRequest req, String key, String target,
      ClientPeer peer) {
    HttpHeaders h = req.headers();
    if (!h.contains(HEADER)) {
      return Inbound.NONE;
    }
    List<String> values = h.getAll(HEADER);
    h.remove(HEADER);
    String why;
    if (gw.hops == null) {
      why = "this gateway takes no forwarded requests (no hop signer)";
    } else if (values.size() != 1) {
      why = "the header appears " + values.size() + " times";
    } else {
      HopSigner.Verification v = gw.hops.verify(values.get(0), key, req.method().name(), target);
      if (v.valid()) {
        return Inbound.VALID;
      }
      why = v.status().name().toLowerCase(java.util.Locale.ROOT)
          + (v.node() == null ? "" : ", claimed node " + v.node());
    }
    log.debug("refused a forwarded request from {} for session {}: invalid {} ({})",
        peer.ip(), key, HopSigner.HEADER, why);
    return Inbound.INVALID;
  }

  /**
   * When {@code e}'s lease is on a peer gateway, makes its request the one to send there (the
   * client's target and a fresh signature) and tells {@code observer} (null for none) where it
   * went; does nothing for a local worker.
   *
   * @return null when the request may go, else why not: {@link UpstreamFailure#MISDIRECTED} for a
   *     request that is itself a hop, {@link UpstreamFailure#INTERNAL} when this gateway has no
   *     signer
   */
  static UpstreamFailure prepare(GatewayContext gw, Exchange e, ExchangeObserver observer) {
    PeerGateway peer = e.peer();
    if (peer == null) {
      return null;
    }
    if (e.forwardedHop) {
      log.debug("session {}: a forwarded request is owned by {} for the router; not sent on",
          e.key, peer.node());
      return UpstreamFailure.MISDIRECTED;
    }
    if (gw.hops == null) {
      log.warn("session {}: the router sends it to peer {}, but this gateway has no hop signer"
          + " (HerdGateway.Builder.hops); answering 500", e.key, peer.node());
      return UpstreamFailure.INTERNAL;
    }
    HttpRequest r = e.upstreamRequest;
    r.setUri(e.target);
    r.headers().set(HEADER, gw.hops.sign(e.key, r.method().name(), e.target));
    if (observer != null) {
      observer.forwardedTo(peer.node());
    }
    return null;
  }
}
