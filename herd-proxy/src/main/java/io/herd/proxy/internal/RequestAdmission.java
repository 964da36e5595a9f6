package io.herd.proxy.internal;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Decides whether a request head becomes an exchange: it must have decoded cleanly (together
 * with what came with it), have one Host, no Expect other than 100-continue, and a valid (and, with
 * a secret, validly signed) session key; a key is minted when the gateway issues them. The
 * accepted request is rewritten for the worker.
 *
 * <p>Stateless; called on the client connection's event loop.
 */
final class RequestAdmission {

  private static final int MAX_KEY_LENGTH = 256;

  /** Exactly one of the two is set. */
  record Decision(Exchange exchange, FullHttpResponse refusal) {}

  private RequestAdmission() {}

  static Decision decide(
      GatewayContext gw, HttpRequest req, Iterable<HttpObject> cameWith, String peerIp,
      boolean trustedPeer, String scheme) {
    if (req.decoderResult().isFailure()) {
      return refuse(ErrorResponses.forMalformed(req.decoderResult().cause()));
    }
    HttpHeaders h = req.headers();
    if (req.protocolVersion().equals(HttpVersion.HTTP_1_1) && !hasOneHost(h)) {
      return refuse(HttpResponseStatus.BAD_REQUEST, "an HTTP/1.1 request needs exactly one Host header");
    }
    String expect = h.get(HttpHeaderNames.EXPECT);
    if (expect != null && !expect.equalsIgnoreCase(HttpHeaderValues.CONTINUE.toString())) {
      return refuse(HttpResponseStatus.EXPECTATION_FAILED, "only Expect: 100-continue is supported");
    }
    String key = gw.rule.extract(req);
    String issued = null;
    if (key == null && gw.signer != null && gw.options.issueKeys()) {
      key = gw.signer.newKey();
      issued = key;
    }
    if (key == null) {
      return refuse(HttpResponseStatus.BAD_REQUEST,
          "missing session key (expected: " + gw.rule.describe() + ")");
    }
    if (!validKey(key)) {
      return refuse(HttpResponseStatus.BAD_REQUEST, "invalid session key in " + gw.rule.describe()
          + " (expected: 1-256 visible ASCII characters)");
    }
    if (gw.signer != null && issued == null && !gw.signer.verify(key)) {
      return refuse(HttpResponseStatus.FORBIDDEN, "session key is not validly signed");
    }
    for (HttpObject queued : cameWith) {
      if (queued.decoderResult().isFailure()) {
        // A malformed body piece came with the head: nothing of this request goes on.
        return refuse(ErrorResponses.forMalformed(queued.decoderResult().cause()));
      }
    }
    boolean hasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
    boolean upgrade = HeaderRewriter.isUpgrade(req);
    HttpMethod m = req.method();
    boolean idempotent = m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD) || m.equals(HttpMethod.OPTIONS);
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    boolean http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
    HttpRequest upstreamRequest =
        HeaderRewriter.toUpstream(
            req, gw.rule.forwardUri(req.uri()), upgrade, peerIp, trustedPeer, scheme);
    Exchange e = new Exchange(key, upstreamRequest, hasBody, m.equals(HttpMethod.HEAD), upgrade,
        http10, expect != null, idempotent && !hasBody && !upgrade, issued);
    e.closeAfter = !keepAlive;
    return new Decision(e, null);
  }

  private static boolean hasOneHost(HttpHeaders h) {
    int hosts = 0;
    for (var it = h.valueCharSequenceIterator(HttpHeaderNames.HOST); it.hasNext() && hosts < 2; it.next()) {
      hosts++;
    }
    return hosts == 1;
  }

  static boolean validKey(String key) {
    if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
      return false;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static Decision refuse(HttpResponseStatus status, String detail) {
    return refuse(ErrorResponses.of(status, detail, 0));
  }

  private static Decision refuse(FullHttpResponse response) {
    return new Decision(null, response);
  }
}
