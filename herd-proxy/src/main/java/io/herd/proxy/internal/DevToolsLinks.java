package io.herd.proxy.internal;

import io.herd.proxy.SessionKeyRule;
import io.herd.proxy.SessionKeys;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where a DevTools client must connect to reach its session's browser through the gateway: the
 * answer to "what should {@code webSocketDebuggerUrl} say?" for one discovery request.
 *
 * <p>Chromium builds the URLs of its discovery answers ({@code /json/version}, {@code /json},
 * {@code /json/list}, {@code /json/new}) from the request's Host and its own paths: {@code
 * ws://<Host>/devtools/browser/<id>}. Through a gateway that routes by a path segment, that URL
 * lacks the segment, so a client following it names another session ({@code devtools}) and starts
 * a stray browser. Selenium Grid solves the same problem by rewriting {@code se:cdp}; so does
 * this: a link is rebuilt from
 *
 * <ul>
 *   <li>the scheme the client reached the gateway with: {@code wss} when it came over TLS, or a
 *       trusted proxy says {@code X-Forwarded-Proto: https}; else {@code ws};
 *   <li>the authority it addressed: a trusted proxy's {@code X-Forwarded-Host}, else the request's
 *       {@code Host} (the gateway's own address when that is not a plain {@code host[:port]});
 *   <li>the worker's path with the session key put back where the rule reads it: the raw path
 *       segment at its index for {@code path:N:strip} ({@code /alice/devtools/browser/<id>}), the
 *       raw {@code name=value} parameter appended for {@code query:NAME}. Header and cookie keys
 *       travel beside the URL, so the path stays as it is (the client sends the header again).
 * </ul>
 *
 * <p>Immutable and thread-safe; made per discovery request on its event loop.
 */
public final class DevToolsLinks {

  /** The worker paths whose answers carry links: Chromium's, with or without a final slash. */
  private static final Set<String> DISCOVERY_PATHS = Set.of(
      "/json", "/json/", "/json/list", "/json/list/", "/json/version", "/json/version/",
      "/json/new", "/json/new/");

  /** {@code host}, {@code host:port} or {@code [v6]:port}: nothing that could leave the URL. */
  private static final Pattern AUTHORITY =
      Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?");

  private final boolean secure;
  private final String authority;
  /** The raw path segment of the key and where it goes, or -1 when the path stays. */
  private final int segmentIndex;
  private final String rawSegment;
  /** The raw {@code name=value} query parameter to append, or null. */
  private final String rawParam;
  /** The path prefix of the pool, stripped before the worker saw the request; "" for none. */
  private final String mount;

  DevToolsLinks(boolean secure, String authority, int segmentIndex, String rawSegment,
      String rawParam) {
    this(secure, authority, segmentIndex, rawSegment, rawParam, "");
  }

  private DevToolsLinks(boolean secure, String authority, int segmentIndex, String rawSegment,
      String rawParam, String mount) {
    this.secure = secure;
    this.authority = authority;
    this.segmentIndex = segmentIndex;
    this.rawSegment = rawSegment;
    this.rawParam = rawParam;
    this.mount = mount;
  }

  /**
   * These links behind a pool's stripped {@code pathPrefix} ({@code /browser}): the client's
   * WebSocket must come back through it ({@code /browser/alice/devtools/...}).
   */
  DevToolsLinks mountedAt(String pathPrefix) {
    return new DevToolsLinks(secure, authority, segmentIndex, rawSegment, rawParam,
        pathPrefix == null ? "" : pathPrefix);
  }

  /**
   * The links for a request, or null when its answer is not a discovery answer: not GET or PUT,
   * or the path it reaches the worker with is not one of Chromium's discovery paths.
   *
   * @param rule the gateway's key rule
   * @param clientTarget the origin-form target as the client sent it
   * @param forwardUri the target the worker gets
   * @param upstream the headers the worker gets: after {@link HeaderRewriter#toUpstream}, their
   *     {@code X-Forwarded-Proto} and {@code X-Forwarded-Host} say how the client reached the
   *     gateway (set from the connection, or a trusted proxy's)
   * @param fallbackAuthority the gateway's address as the client reached it
   */
  static DevToolsLinks forRequest(SessionKeyRule rule, HttpMethod method, String clientTarget,
      String forwardUri, HttpHeaders upstream, String fallbackAuthority) {
    if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.PUT)) {
      return null;
    }
    if (!DISCOVERY_PATHS.contains(KeyRules.pathOf(forwardUri))) {
      return null;
    }
    String proto = firstToken(upstream.get(HeaderRewriter.X_FORWARDED_PROTO));
    boolean secure = proto != null && proto.toLowerCase(Locale.ROOT).equals("https");
    String authority = firstToken(upstream.get(HeaderRewriter.X_FORWARDED_HOST));
    if (authority == null || !AUTHORITY.matcher(authority).matches()) {
      authority = fallbackAuthority;
    }
    if (rule instanceof KeyRules.PathSegment p) {
      String raw = segment(KeyRules.pathOf(clientTarget), p.index());
      return raw == null ? null : new DevToolsLinks(secure, authority, p.index(), raw, null);
    }
    if (rule instanceof KeyRules.Query q) {
      String raw = queryParam(clientTarget, q.name());
      return raw == null ? null : new DevToolsLinks(secure, authority, -1, null, raw);
    }
    return new DevToolsLinks(secure, authority, -1, null, null);
  }

  /** Whether links use {@code wss} (the client reached the gateway over TLS). */
  boolean secure() {
    return secure;
  }

  String authority() {
    return authority;
  }

  /**
   * A {@code ws(s)://host:port/devtools/...} URL of the worker, pointed back through the gateway;
   * anything else (another scheme, a path outside {@code /devtools/}) is returned as it is.
   */
  String debuggerUrl(String url) {
    String lower = url.toLowerCase(Locale.ROOT);
    int start = lower.startsWith("ws://") ? 5 : lower.startsWith("wss://") ? 6 : -1;
    if (start < 0) {
      return url;
    }
    int pathStart = indexOfAny(url, "/?#", start);
    if (pathStart < 0 || url.charAt(pathStart) != '/') {
      return url;
    }
    String rest = url.substring(pathStart);
    String mapped = pathAndQuery(rest);
    return mapped == null ? url : (secure ? "wss://" : "ws://") + authority + mapped;
  }

  /**
   * A DevTools front-end URL ({@code ...inspector.html?ws=127.0.0.1:9222/devtools/page/<id>}) whose
   * {@code ws=} or {@code wss=} parameter is pointed back through the gateway; other parameters
   * and the rest of the URL stay as they are.
   */
  String frontendUrl(String url) {
    int q = url.indexOf('?');
    if (q < 0) {
      return url;
    }
    int hash = url.indexOf('#', q);
    String query = hash < 0 ? url.substring(q + 1) : url.substring(q + 1, hash);
    String[] params = query.split("&", -1);
    boolean changed = false;
    for (int i = 0; i < params.length; i++) {
      String p = params[i];
      int eq = p.indexOf('=');
      String name = eq < 0 ? p : p.substring(0, eq);
      if (eq < 0 || !(name.equals("ws") || name.equals("wss"))) {
        continue;
      }
      String value = p.substring(eq + 1);
      int slash = value.indexOf('/');
      String mapped = slash < 0 ? null : pathAndQuery(value.substring(slash));
      if (mapped == null) {
        continue;
      }
      params[i] = (secure ? "wss=" : "ws=") + authority + encodeForParam(mapped);
      changed = true;
    }
    if (!changed) {
      return url;
    }
    return url.substring(0, q + 1) + String.join("&", params) + (hash < 0 ? "" : url.substring(hash));
  }

  /**
   * The worker's {@code /devtools/...} path (and query) with the key put back, or null when it is
   * not a DevTools path or the key's segment index is past its end.
   */
  private String pathAndQuery(String rest) {
    int q = indexOfAny(rest, "?#", 0);
    String path = q < 0 ? rest : rest.substring(0, q);
    String tail = q < 0 ? "" : rest.substring(q);
    if (!path.startsWith("/devtools/")) {
      return null;
    }
    if (segmentIndex >= 0) {
      path = insertSegment(path, segmentIndex, rawSegment);
      if (path == null) {
        return null;
      }
    }
    if (rawParam != null) {
      int hash = tail.indexOf('#');
      String query = hash < 0 ? tail : tail.substring(0, hash);
      String fragment = hash < 0 ? "" : tail.substring(hash);
      tail = (query.isEmpty() ? "?" : query + "&") + rawParam + fragment;
    }
    return mount + path + tail;
  }

  /** {@code path} with {@code /segment} inserted as segment {@code index}, or null if too short. */
  static String insertSegment(String path, int index, String segment) {
    int at = 0; // the slash before segment `index`
    for (int i = 0; i < index; i++) {
      at = path.indexOf('/', at + 1);
      if (at < 0) {
        return null;
      }
    }
    return path.substring(0, at) + "/" + segment + path.substring(at);
  }

  /** Segment {@code index} (0-based) of {@code path} as it is written, or null. */
  static String segment(String path, int index) {
    int[] span = KeyRules.segmentSpan(path, index);
    return span == null ? null : path.substring(span[0], span[1]);
  }

  /** The first {@code name=value} parameter of {@code target} whose name decodes to {@code name}. */
  static String queryParam(String target, String name) {
    int q = target.indexOf('?');
    if (q < 0) {
      return null;
    }
    for (String p : target.substring(q + 1).split("&")) {
      int eq = p.indexOf('=');
      try {
        if (eq > 0 && SessionKeys.decodeQueryComponent(p.substring(0, eq)).equals(name)) {
          return p;
        }
      } catch (IllegalArgumentException e) {
        // a name that cannot be decoded is not the key's
      }
    }
    return null;
  }

  /**
   * A path and query as the value of the front end's {@code ws=} parameter: the characters that
   * would end the parameter or the URL are percent-encoded (the front end decodes the value once).
   */
  private static String encodeForParam(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '?' -> b.append("%3F");
        case '&' -> b.append("%26");
        case '=' -> b.append("%3D");
        case '#' -> b.append("%23");
        case '%' -> b.append("%25");
        case '+' -> b.append("%2B");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  private static String firstToken(String value) {
    if (value == null) {
      return null;
    }
    int comma = value.indexOf(',');
    String first = (comma < 0 ? value : value.substring(0, comma)).trim();
    return first.isEmpty() ? null : first;
  }

  private static int indexOfAny(String s, String chars, int from) {
    for (int i = from; i < s.length(); i++) {
      if (chars.indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public String toString() {
    return "DevToolsLinks{" + (secure ? "wss://" : "ws://") + authority
        + (rawSegment == null ? "" : ", segment " + segmentIndex + "=" + rawSegment)
        + (rawParam == null ? "" : ", param " + rawParam) + "}";
  }
}
