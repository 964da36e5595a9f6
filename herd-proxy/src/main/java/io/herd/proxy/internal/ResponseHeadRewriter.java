package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;

/**
 * The gateway's rules for a worker's response head on its way to the client, applied to a {@link
 * RawResponseHead} as edits rather than to a header map: hop-by-hop fields stop here, the framing
 * becomes one the client understands, and the gateway adds its own fields. The same rules as
 * {@link HeaderRewriter#prepareResponse} applies to a decoded head. Stateless.
 */
final class ResponseHeadRewriter {

  private ResponseHeadRewriter() {}

  /**
   * Prepares {@code head} for the client of exchange {@code e}: hop-by-hop fields go, a body the
   * worker delimits by closing is chunked for an HTTP/1.1 client (an HTTP/1.0 client gets it plain
   * and a close), a chunked body is sent plain to an HTTP/1.0 client, and the gateway adds {@code
   * X-Herd-Cold-Start}, an issued key's cookie and the Connection field. Sets {@code
   * e.upstreamKeepAlive} and, when the client connection must close after it, {@code e.closeAfter}.
   *
   * @param cookieName the cookie an issued key goes in
   * @param secure whether the client connection runs TLS: the cookie is then {@code Secure}
   * @param keyTtl the issued key's lifetime, as the cookie's {@code Max-Age}; null for a session
   *     cookie
   * @param closing whether the gateway is draining
   */
  static void prepare(Exchange e, RawResponseHead head, String cookieName, boolean secure,
      Duration keyTtl, boolean closing) {
    int code = head.code();
    e.upstreamKeepAlive = head.keepAlive();
    boolean bodyless = e.head || code == 204 || code == 304;
    boolean chunked = head.chunked();
    head.dropHopByHop();
    if (bodyless) {
      // No body follows whatever the fields say: a chunked coding is not announced to the client.
      if (chunked) {
        head.drop(HttpHeaderNames.TRANSFER_ENCODING);
      }
      head.clientChunked(false, false);
    } else if (!chunked && head.contentLength() < 0) {
      // Delimited by the worker closing the connection: chunk it for the client if it can.
      e.upstreamKeepAlive = false;
      if (e.clientHttp10) {
        e.closeAfter = true;
        head.clientChunked(false, false);
      } else {
        head.clientChunked(true, true);
      }
    } else if (chunked && e.clientHttp10) {
      head.drop(HttpHeaderNames.TRANSFER_ENCODING);
      head.clientChunked(false, false);
      e.closeAfter = true;
    }
    head.setProtocolVersion(HttpVersion.HTTP_1_1);
    long coldStart = e.coldStartMillis();
    if (coldStart >= 0) {
      head.coldStart(coldStart);
    }
    if (e.issuedCookie != null) {
      head.addSetCookie(
          HeaderRewriter.sessionCookie(cookieName, e.issuedCookie, secure, keyTtl));
    }
    if (e.closeAfter || closing) {
      e.closeAfter = true;
      head.connection(RawResponseHead.ConnectionField.CLOSE);
    } else if (e.clientHttp10) {
      head.connection(RawResponseHead.ConnectionField.KEEP_ALIVE);
    }
  }
}
