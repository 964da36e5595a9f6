package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The header rules of a forwarding proxy (RFC 9110 §7.6.1): hop-by-hop headers stop here, and the
 * gateway states who the client is. Stateless.
 *
 * <p>Forwarding headers say who the client is, and applications believe them (for logs, rate
 * limits, redirects, access rules). From a peer that is not a trusted proxy the gateway removes
 * every such header it knows of ({@link #CLIENT_CLAIMS}) and sets {@code X-Forwarded-For}, {@code
 * X-Real-IP}, {@code -Proto}, {@code -Host} and {@code -Port} from the connection itself. From a
 * trusted proxy they pass, and the peer is appended to {@code X-Forwarded-For}.
 *
 * <p>Transfer-Encoding is left alone: it describes the framing that Netty's encoders reproduce on
 * the next hop.
 *
 * <p>A request read by the fast path has {@link RawHeaders}: every edit here is then recorded on
 * the client's own header lines (a line dropped, a field appended), which the upstream encoder
 * writes out without re-encoding the rest; the scans over every field use its in-place helpers.
 */
public final class HeaderRewriter {

  private static final String X_FORWARDED_FOR = "X-Forwarded-For";
  static final String X_FORWARDED_PROTO = "X-Forwarded-Proto";
  static final String X_FORWARDED_HOST = "X-Forwarded-Host";
  private static final String X_FORWARDED_PORT = "X-Forwarded-Port";
  private static final String X_REAL_IP = "X-Real-IP";

  /**
   * Headers that claim something about the client or the original request, which only a trusted
   * proxy may state (lower case). Those the gateway sets itself are replaced, the rest removed.
   */
  static final Set<String> CLIENT_CLAIMS = Set.of(
      "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
      "x-real-ip", "true-client-ip", "x-client-ip", "x-cluster-client-ip", "client-ip",
      "cf-connecting-ip", "fastly-client-ip", "x-proxyuser-ip", "x-forwarded-prefix",
      "x-forwarded-server", "x-forwarded-by", "x-forwarded-scheme", "x-forwarded-ssl",
      "x-forwarded-protocol", "x-forwarded-uri", "x-url-scheme", "x-scheme", "front-end-https",
      "x-original-url", "x-original-uri", "x-rewrite-url", "x-original-host",
      "x-original-forwarded-for", "x-host");

  private static final AsciiString[] CLIENT_CLAIM_NAMES =
      CLIENT_CLAIMS.stream().map(AsciiString::cached).toArray(AsciiString[]::new);

  /**
   * Names that a header with {@code _} must never fold into (many frameworks read {@code _} as
   * {@code -}): framing, hop-by-hop, the gateway's own forwarding headers, and the hop
   * signature of gateway-to-gateway requests ({@code X-Herd-Hop}, which no worker may see).
   */
  private static final Set<String> FOLD_PROTECTED = Set.of(
      "content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer",
      "upgrade", "expect", "proxy-connection", "cookie", "x-herd-hop");

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
   * Removes request headers whose names contain {@code _}: all of them unless {@code allow}; with
   * {@code allow}, those that would fold into a protected name or into the session key's header
   * {@code keyHeader} (null when the key is not in a header), which itself is kept.
   *
   * @return how many were removed
   */
  static int dropUnderscoreNames(HttpHeaders h, boolean allow, String keyHeader) {
    if (h instanceof RawHeaders raw && !raw.anyNameContains('_')) {
      return 0; // the usual case, found without an entry per field
    }
    List<String> drop = null;
    // Iterated without copying the names: this runs for every request, and almost never finds one.
    for (var it = h.iteratorCharSequence(); it.hasNext(); ) {
      CharSequence candidate = it.next().getKey();
      if (!hasUnderscore(candidate)) {
        continue;
      }
      String name = candidate.toString();
      if (name.equalsIgnoreCase(keyHeader) || (drop != null && drop.contains(name))) {
        continue;
      }
      String folded = name.replace('_', '-').toLowerCase(Locale.ROOT);
      if (!allow || FOLD_PROTECTED.contains(folded) || CLIENT_CLAIMS.contains(folded)
          || folded.startsWith("proxy-") || folded.equalsIgnoreCase(keyHeader)) {
        if (drop == null) {
          drop = new ArrayList<>(2);
        }
        drop.add(name);
      }
    }
    if (drop == null) {
      return 0;
    }
    drop.forEach(h::remove);
    return drop.size();
  }

  /**
   * Removes the request trailer fields that must not reach a worker: RFC 9110 §6.5.1 keeps
   * framing, routing, authentication and request modifiers out of trailers, and many servers
   * merge trailers into the headers, where these would bypass the head's rules. So the names with
   * {@code _} that {@link #dropUnderscoreNames} drops go, and so do the protected names (framing,
   * Host, hop-by-hop, Cookie, X-Herd-Hop), forwarding claims, Proxy-*, Authorization and the
   * session key's header {@code keyHeader} (null when the key is not in a header).
   *
   * @return how many were removed
   */
  static int removeForbiddenTrailers(HttpHeaders trailers, boolean allowUnderscores,
      String keyHeader) {
    int dropped = dropUnderscoreNames(trailers, allowUnderscores, null);
    List<String> drop = null;
    for (var it = trailers.iteratorCharSequence(); it.hasNext(); ) {
      String name = it.next().getKey().toString().toLowerCase(Locale.ROOT);
      if (FOLD_PROTECTED.contains(name) || CLIENT_CLAIMS.contains(name)
          || name.startsWith("proxy-") || name.equals("authorization")
          || name.equalsIgnoreCase(keyHeader)
          || (keyHeader != null && name.replace('_', '-').equalsIgnoreCase(keyHeader))) {
        if (drop == null) {
          drop = new ArrayList<>(2);
        }
        drop.add(name);
      }
    }
    if (drop != null) {
      drop.forEach(trailers::remove);
      dropped += drop.size();
    }
    return dropped;
  }

  private static boolean hasUnderscore(CharSequence name) {
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) == '_') {
        return true;
      }
    }
    return false;
  }

  /**
   * Turns the client's request, in place, into the one to send to the worker: HTTP/1.1,
   * keep-alive, {@code uri}, without hop-by-hop headers and {@code Expect} (the gateway answers
   * 100-continue itself), with a {@code Host} (the address the client reached, when an HTTP/1.0
   * client named none), and with the forwarding headers of {@code peer}. In place because
   * copying the headers of every request showed in profiles; read what the client asked for
   * (keep-alive, upgrade) before calling this.
   */
  static HttpRequest toUpstream(HttpRequest in, String uri, boolean upgrade, ClientPeer peer) {
    HttpHeaders h = in.headers();
    String upgradeTo = upgrade ? h.get(HttpHeaderNames.UPGRADE) : null;
    removeHopByHop(h);
    h.remove(HttpHeaderNames.EXPECT);
    if (upgradeTo != null) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
      h.set(HttpHeaderNames.UPGRADE, upgradeTo);
    }
    String host = h.get(HttpHeaderNames.HOST);
    if (host == null) {
      // An HTTP/1.0 client may name no authority; the worker gets HTTP/1.1, which requires one:
      // the address the client reached is the authority it addressed.
      host = peer.localAuthority();
      h.set(HttpHeaderNames.HOST, host);
    }
    String port = Integer.toString(peer.localPort());
    if (peer.trusted()) {
      String prior = String.join(", ", h.getAll(X_FORWARDED_FOR));
      h.set(X_FORWARDED_FOR, prior.isEmpty() ? peer.ip() : prior + ", " + peer.ip());
      if (!h.contains(X_FORWARDED_PROTO)) {
        h.set(X_FORWARDED_PROTO, peer.scheme());
      }
      if (!h.contains(X_FORWARDED_HOST) && host != null) {
        h.set(X_FORWARDED_HOST, host);
      }
      if (!h.contains(X_FORWARDED_PORT)) {
        h.set(X_FORWARDED_PORT, port);
      }
    } else {
      removeClientClaims(h);
      h.set(X_FORWARDED_FOR, peer.ip());
      h.set(X_REAL_IP, peer.ip());
      h.set(X_FORWARDED_PROTO, peer.scheme());
      h.set(X_FORWARDED_PORT, port);
      if (host != null) {
        h.set(X_FORWARDED_HOST, host);
      }
    }
    in.setProtocolVersion(HttpVersion.HTTP_1_1);
    in.setUri(uri);
    return in;
  }

  private static void removeClientClaims(HttpHeaders h) {
    // One hash lookup per known name: cheaper than looking at (and lower-casing) every header.
    for (AsciiString name : CLIENT_CLAIM_NAMES) {
      h.remove(name);
    }
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
   *
   * @param cookieName the cookie an issued key goes in
   * @param secure whether the client connection runs TLS: the cookie is then {@code Secure}
   * @param keyTtl the issued key's lifetime, as the cookie's {@code Max-Age}; null for a session
   *     cookie
   * @param closing whether the gateway is draining
   */
  static void prepareResponse(Exchange e, HttpResponse resp, String cookieName, boolean secure,
      Duration keyTtl, boolean closing) {
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
      h.add(HttpHeaderNames.SET_COOKIE, sessionCookie(cookieName, e.issuedCookie, secure, keyTtl));
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
   * listed in Connection go first, before Connection itself is removed; the framing headers and
   * Host stay whatever Connection says, since removing them would change how the next hop frames
   * the message.
   */
  static void removeHopByHop(HttpHeaders h) {
    for (String value : h.getAll(HttpHeaderNames.CONNECTION)) {
      for (String name : value.split(",")) {
        String n = name.trim();
        if (!n.isEmpty() && !n.equalsIgnoreCase("transfer-encoding")
            && !n.equalsIgnoreCase("content-length") && !n.equalsIgnoreCase("host")) {
          h.remove(n);
        }
      }
    }
    h.remove(HttpHeaderNames.CONNECTION);
    h.remove(HttpHeaderNames.KEEP_ALIVE);
    h.remove(HttpHeaderNames.TE);
    h.remove(HttpHeaderNames.TRAILER);
    h.remove(HttpHeaderNames.UPGRADE);
    if (h instanceof RawHeaders raw) {
      raw.removeNamesStartingWith(PROXY_PREFIX); // no entry per field
      return;
    }
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

  /**
   * The {@code Set-Cookie} value that gives a client its issued session key: HttpOnly, SameSite
   * Lax, path /, Secure over TLS, a Max-Age of the key's lifetime when it has one. One place for
   * both response paths (the raw pass-through head and Netty's headers).
   */
  static String sessionCookie(String name, String value, boolean secure, Duration keyTtl) {
    DefaultCookie cookie = new DefaultCookie(name, value);
    cookie.setHttpOnly(true);
    cookie.setSecure(secure);
    cookie.setPath("/");
    cookie.setSameSite(CookieHeaderNames.SameSite.Lax);
    if (keyTtl != null) {
      cookie.setMaxAge(keyTtl.getSeconds());
    }
    return ServerCookieEncoder.STRICT.encode(cookie);
  }
}
