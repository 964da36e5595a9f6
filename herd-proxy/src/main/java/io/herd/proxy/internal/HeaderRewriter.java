package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;

/**
 * The header rules of a forwarding proxy (RFC 9110 §7.6.1): hop-by-hop headers stop here, and the
 * gateway states who the client is in {@code X-Forwarded-*}. Stateless.
 *
 * <p>Transfer-Encoding is left alone: it describes the framing that Netty's encoders reproduce on
 * the next hop.
 */
public final class HeaderRewriter {

  private static final String X_FORWARDED_FOR = "X-Forwarded-For";
  private static final String X_FORWARDED_PROTO = "X-Forwarded-Proto";
  private static final String X_FORWARDED_HOST = "X-Forwarded-Host";

  private static final String COLD_START = "X-Herd-Cold-Start";
  private static final AsciiString PROXY_PREFIX = AsciiString.cached("proxy-");

  private HeaderRewriter() {}

  /** Whether {@code request} asks to switch protocols ({@code Connection: upgrade} + Upgrade). */
  public static boolean isUpgrade(HttpRequest request) {
    HttpHeaders h = request.headers();
    return h.contains(HttpHeaderNames.UPGRADE)
        && h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
  }

  /**
   * Turns the client's request, in place, into the one to send to the worker: HTTP/1.1,
   * keep-alive, origin-form {@code uri}, without hop-by-hop headers and {@code Expect} (the gateway
   * answers 100-continue itself), and with {@code X-Forwarded-*} from the peer, or appended to
   * when {@code trustedPeer}. In place because copying the headers of every request showed in
   * profiles; read what the client asked for (keep-alive, upgrade) before calling this.
   */
  public static HttpRequest toUpstream(
      HttpRequest in, String uri, boolean upgrade, String peerIp, boolean trustedPeer) {
    return toUpstream(in, uri, upgrade, peerIp, trustedPeer, "http");
  }

  /** As above, for a client connection that arrived over {@code scheme} (http or https). */
  public static HttpRequest toUpstream(
      HttpRequest in, String uri, boolean upgrade, String peerIp, boolean trustedPeer,
      String scheme) {
    HttpHeaders h = in.headers();
    String upgradeTo = upgrade ? h.get(HttpHeaderNames.UPGRADE) : null;
    removeHopByHop(h);
    h.remove(HttpHeaderNames.EXPECT);
    if (upgradeTo != null) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
      h.set(HttpHeaderNames.UPGRADE, upgradeTo);
    }
    String host = h.get(HttpHeaderNames.HOST);
    if (trustedPeer) {
      String prior = String.join(", ", h.getAll(X_FORWARDED_FOR));
      h.set(X_FORWARDED_FOR, prior.isEmpty() ? peerIp : prior + ", " + peerIp);
      if (!h.contains(X_FORWARDED_PROTO)) {
        h.set(X_FORWARDED_PROTO, scheme);
      }
      if (!h.contains(X_FORWARDED_HOST) && host != null) {
        h.set(X_FORWARDED_HOST, host);
      }
    } else {
      h.remove("Forwarded");
      h.set(X_FORWARDED_FOR, peerIp);
      h.set(X_FORWARDED_PROTO, scheme);
      if (host != null) {
        h.set(X_FORWARDED_HOST, host);
      } else {
        h.remove(X_FORWARDED_HOST);
      }
    }
    in.setProtocolVersion(HttpVersion.HTTP_1_1);
    in.setUri(originForm(uri));
    return in;
  }

  /** Removes the response's hop-by-hop headers, keeping Upgrade for a 101. */
  public static void toClient(HttpResponse response, boolean switching) {
    HttpHeaders h = response.headers();
    String upgradeTo = switching ? h.get(HttpHeaderNames.UPGRADE) : null;
    removeHopByHop(h);
    if (upgradeTo != null) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
      h.set(HttpHeaderNames.UPGRADE, upgradeTo);
    }
  }

  /**
   * Prepares a worker's response head for the client of exchange {@code e}: hop-by-hop headers
   * go, the framing is made one the client understands (a close-delimited body is chunked for
   * HTTP/1.1 clients; HTTP/1.0 clients get no chunking and a close), and the gateway adds {@code
   * X-Herd-Cold-Start}, an issued key's cookie and the Connection header. Sets {@code
   * e.upstreamKeepAlive} and, when the client connection must close after it, {@code e.closeAfter}.
   */
  static void prepareResponse(Exchange e, HttpResponse resp, String cookieName, boolean closing) {
    int code = resp.status().code();
    HttpHeaders h = resp.headers();
    e.upstreamKeepAlive = HttpUtil.isKeepAlive(resp);
    boolean bodyless = e.head || code == 204 || code == 304;
    boolean chunked = HttpUtil.isTransferEncodingChunked(resp);
    if (!bodyless && !chunked && !h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      // Delimited by the worker closing the connection: chunk it for the client if it can.
      e.upstreamKeepAlive = false;
      if (e.clientHttp10) {
        e.closeAfter = true;
      } else {
        HttpUtil.setTransferEncodingChunked(resp, true);
      }
    } else if (chunked && e.clientHttp10) {
      HttpUtil.setTransferEncodingChunked(resp, false);
      e.closeAfter = true;
    }
    toClient(resp, false);
    resp.setProtocolVersion(HttpVersion.HTTP_1_1);
    long coldStart = e.coldStartMillis();
    if (coldStart >= 0) {
      h.set(COLD_START, Long.toString(coldStart));
    }
    if (e.issuedCookie != null) {
      DefaultCookie cookie = new DefaultCookie(cookieName, e.issuedCookie);
      cookie.setHttpOnly(true);
      cookie.setPath("/");
      cookie.setSameSite(CookieHeaderNames.SameSite.Lax);
      h.add(HttpHeaderNames.SET_COOKIE, ServerCookieEncoder.STRICT.encode(cookie));
    }
    if (e.closeAfter || closing) {
      e.closeAfter = true;
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    } else if (e.clientHttp10) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    }
  }

  /**
   * Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer and Upgrade. The names
   * listed in Connection go first, before Connection itself is removed.
   */
  static void removeHopByHop(HttpHeaders h) {
    for (String value : h.getAll(HttpHeaderNames.CONNECTION)) {
      for (String name : value.split(",")) {
        String n = name.trim();
        if (!n.isEmpty() && !n.equalsIgnoreCase("transfer-encoding")) {
          h.remove(n);
        }
      }
    }
    h.remove(HttpHeaderNames.CONNECTION);
    h.remove(HttpHeaderNames.KEEP_ALIVE);
    h.remove(HttpHeaderNames.TE);
    h.remove(HttpHeaderNames.TRAILER);
    h.remove(HttpHeaderNames.UPGRADE);
    List<String> proxyHeaders = null;
    for (var it = h.iteratorCharSequence(); it.hasNext(); ) {
      CharSequence name = it.next().getKey();
      if (name.length() >= 6 && AsciiString.regionMatches(name, true, 0, PROXY_PREFIX, 0, 6)) {
        if (proxyHeaders == null) {
          proxyHeaders = new ArrayList<>(2);
        }
        proxyHeaders.add(name.toString());
      }
    }
    if (proxyHeaders != null) {
      proxyHeaders.forEach(h::remove);
    }
  }

  /** {@code http://host/p?q} becomes {@code /p?q}; origin-form passes unchanged. */
  static String originForm(String uri) {
    int scheme = uri.indexOf("://");
    if (uri.startsWith("/") || scheme < 0) {
      return uri;
    }
    int path = uri.indexOf('/', scheme + 3);
    int query = uri.indexOf('?', scheme + 3);
    if (path < 0 || (query >= 0 && query < path)) {
      return query < 0 ? "/" : "/" + uri.substring(query);
    }
    return uri.substring(path);
  }
}
