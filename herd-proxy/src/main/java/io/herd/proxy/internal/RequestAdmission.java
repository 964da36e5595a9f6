package io.herd.proxy.internal;

import io.herd.proxy.SessionKeySigner;
import io.herd.proxy.SessionKeys;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a request head becomes an exchange, in the order a strict gateway checks it:
 * the decoder accepted it (framing, version, syntax); not CONNECT; a target the gateway forwards
 * ({@link RequestTarget}); exactly one Host for HTTP/1.1, at most one for HTTP/1.0; no transfer
 * coding but chunked; no Expect but 100-continue; then header names with {@code _} are dropped
 * and the session key is looked for: exactly one (identical duplicates collapse to one), valid, and with a secret validly
 * signed and unexpired, the session being named by the key's id; then a hop header, when there is
 * one, must be a valid hop from a peer gateway ({@link PeerHops}). A key is minted when the gateway
 * issues them, and replaces the client's key cookie in what the worker sees. The accepted request
 * is rewritten for the worker.
 *
 * <p>Every refusal is a {@link Refusal} with a detail that says what was expected. Stateless;
 * called on the client connection's event loop.
 */
final class RequestAdmission {

  private static final Logger log = LoggerFactory.getLogger(RequestAdmission.class);

  /** Exactly one of the two is set. */
  record Decision(Exchange exchange, FullHttpResponse refusal) {}

  private RequestAdmission() {}

  static Decision decide(PoolSelector pools, HttpRequest req, ClientPeer peer) {
    if (req.decoderResult().isFailure()) {
      return new Decision(null, ErrorResponses.forMalformed(req.decoderResult().cause()));
    }
    HttpMethod method = req.method();
    if (method.equals(HttpMethod.CONNECT)) {
      return refuse(Refusal.METHOD_NOT_IMPLEMENTED, "CONNECT is not supported: the gateway routes"
          + " requests to session workers and opens no tunnels");
    }
    RequestTarget.Result target = RequestTarget.check(method, req.uri());
    if (target.refused()) {
      return refuse(Refusal.BAD_TARGET, target.problem());
    }
    HttpHeaders h = req.headers();
    boolean http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
    // HTTP/1.0 may omit Host, but not repeat it: the worker gets HTTP/1.1 and would have two
    // authorities to choose from.
    int hosts = hosts(h);
    if (hosts > 1 || (hosts == 0 && !http10)) {
      return refuse(Refusal.BAD_HOST, null);
    }
    Decision coding = checkTransferCoding(h);
    if (coding != null) {
      return coding;
    }
    String expect = h.get(HttpHeaderNames.EXPECT);
    if (expect != null && !expect.equalsIgnoreCase(HttpHeaderValues.CONTINUE.toString())) {
      return refuse(Refusal.EXPECTATION_FAILED, null);
    }
    if (target.authority() != null) {
      h.set(HttpHeaderNames.HOST, target.authority());
    }
    req.setUri(target.uri());
    GatewayContext gw = pools.select(h.get(HttpHeaderNames.HOST), req.uri());
    if (gw == null) {
      return refuse(Refusal.NO_POOL, pools.unmatched(h.get(HttpHeaderNames.HOST), req.uri()));
    }
    if (gw.match.stripPrefix()) {
      req.setUri(gw.match.forward(req.uri())); // the pool's key rule sees the path after it
    }
    int dropped = HeaderRewriter.dropUnderscoreNames(
        h, gw.options.allowUnderscoresInHeaders(), gw.keyHeader);
    if (dropped > 0 && log.isDebugEnabled()) {
      log.debug("dropped {} header(s) with _ in their names from {}", dropped, peer.ip());
    }

    KeyLookup lookup = KeyRules.locate(gw.rule, req);
    String key = lookup.key();
    String issued = null;
    switch (lookup.outcome()) {
      case CONFLICT -> {
        return refuse(Refusal.CONFLICTING_KEYS, lookup.detail());
      }
      case INVALID -> {
        return refuse(Refusal.INVALID_KEY, lookup.detail());
      }
      case MISSING -> {
        if (gw.signer == null || !gw.sessionOptions.issueKeys()) {
          return refuse(Refusal.MISSING_KEY,
              "missing session key (expected: " + gw.rule.describe() + ")");
        }
        issued = gw.signer.newKey();
      }
      case FOUND -> {
        if (!SessionKeys.isValid(key)) {
          return refuse(Refusal.INVALID_KEY, "invalid session key in " + gw.rule.describe()
              + " (expected: " + SessionKeys.EXPECTED + ")");
        }
      }
    }
    String poolKey = key;
    if (gw.signer != null) {
      SessionKeySigner.Verification v = gw.signer.check(issued != null ? issued : key);
      if (v.status() == SessionKeySigner.Status.EXPIRED && gw.sessionOptions.issueKeys()) {
        issued = gw.signer.newKey(); // the old session is over for this client: start a new one
        v = gw.signer.check(issued);
      }
      switch (v.status()) {
        case EXPIRED -> {
          return refuse(Refusal.EXPIRED_KEY,
              "session key has expired (expected: a key issued within session.keyTtl)");
        }
        case INVALID -> {
          return refuse(Refusal.UNSIGNED_KEY, null);
        }
        case VALID -> poolKey = v.id();
      }
    }
    String routeTarget = req.uri(); // as received, duplicates collapsed; before forwardUri
    PeerHops.Inbound hop = PeerHops.check(gw, req, poolKey, routeTarget, peer);
    if (hop == PeerHops.Inbound.INVALID) {
      return refuse(Refusal.INVALID_HOP, null);
    }
    if (issued != null) {
      String fresh = issued;
      gw.rule.cookieName().ifPresent(name -> KeyRules.replaceCookie(req, name, fresh));
    }

    boolean hasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
    boolean upgrade = HeaderRewriter.isUpgrade(req);
    boolean idempotent =
        method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD) || method.equals(HttpMethod.OPTIONS);
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    // A valid hop comes from a peer gateway: its forwarding headers are the client's, as a
    // trusted proxy's are.
    HttpRequest upstreamRequest = HeaderRewriter.toUpstream(req, gw.rule.forwardUri(routeTarget),
        upgrade, hop == PeerHops.Inbound.VALID ? peer.asTrusted() : peer);
    // An HTTP/1.0 client cannot read a 1xx: its Expect is ignored (RFC 9110 10.1.1).
    Exchange e = new Exchange(poolKey, upstreamRequest, method.equals(HttpMethod.HEAD), upgrade,
        http10, expect != null && !http10, idempotent && !hasBody && !upgrade, issued,
        routeTarget, hop == PeerHops.Inbound.VALID);
    e.closeAfter = !keepAlive;
    e.route = gw;
    if (gw.options.devtools() && !upgrade) {
      DevToolsLinks links = DevToolsLinks.forRequest(gw.rule, method, routeTarget,
          upstreamRequest.uri(), upstreamRequest.headers(), peer.localAuthority());
      // A pool whose prefix is stripped: its links go back through that prefix too.
      e.devtools = links != null && gw.match.stripPrefix()
          ? links.mountedAt(gw.match.pathPrefix()) : links;
    }
    return new Decision(e, null);
  }

  /** How many Host fields {@code h} has: 0, 1 or 2 (for two or more). */
  private static int hosts(HttpHeaders h) {
    int hosts = 0;
    for (var it = h.valueCharSequenceIterator(HttpHeaderNames.HOST); it.hasNext() && hosts < 2; it.next()) {
      hosts++;
    }
    return hosts;
  }

  /**
   * Only chunked, once, may frame a request body (Netty already refused a last coding other than
   * chunked): any other coding is one the gateway does not implement (RFC 9112 §6.1: 501).
   *
   * @return the refusal, or null when the codings are fine
   */
  private static Decision checkTransferCoding(HttpHeaders h) {
    if (!h.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      return null;
    }
    int chunked = 0;
    int others = 0;
    for (String value : h.getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
      for (String coding : value.split(",")) {
        String c = coding.trim().toLowerCase(Locale.ROOT);
        if (c.equals("chunked")) {
          chunked++;
        } else if (!c.isEmpty()) {
          others++;
        }
      }
    }
    if (chunked > 1) {
      return refuse(Refusal.MALFORMED,
          "chunked applied more than once (expected: Transfer-Encoding: chunked)");
    }
    return others == 0 ? null : refuse(Refusal.CODING_NOT_IMPLEMENTED,
        "transfer codings other than chunked are not supported (expected: Transfer-Encoding: chunked)");
  }

  private static Decision refuse(Refusal refusal, String detail) {
    return new Decision(null, ErrorResponses.of(refusal, detail));
  }
}
