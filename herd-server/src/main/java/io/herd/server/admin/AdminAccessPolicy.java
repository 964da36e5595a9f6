package io.herd.server.admin;

import io.herd.server.config.AdminConfig;
import io.herd.server.config.HttpAuthority;
import io.herd.server.config.WebOrigin;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides whether a request may reach the admin API at all, before its token is looked at: the
 * defence against web pages that a browser on the operator's machine runs.
 *
 * <p>Threat: a page on {@code attacker.example} cannot read the loopback admin API directly (the
 * browser's same-origin policy), but it can re-point its own name at {@code 127.0.0.1} (DNS
 * rebinding) and then read it as "its own" origin, or fire blind cross-site requests at it. Both
 * arrive with tell-tale headers, and these rules refuse them:
 *
 * <ol>
 *   <li><b>Host</b> must name the admin API: {@code localhost}, a loopback IP literal ({@code
 *       127.0.0.1}, {@code [::1]}), the host of {@code admin.listen}, the IP address the client
 *       actually connected to (so a wildcard listen answers probes to the pod IP), or a name of
 *       {@code admin.hosts}; any port. A rebinding page always sends its own name: 421.
 *   <li><b>Origin</b>, when present (browsers send it on every cross-origin request and every
 *       non-GET), must be the admin's own origin ({@code http://} + the Host) or one of {@code
 *       admin.origins}: 403. {@code Origin: null} (sandboxed frames, files) is refused.
 *   <li><b>Fetch metadata</b>: a request the browser marks {@code Sec-Fetch-Site: cross-site} or
 *       {@code same-site} — e.g. from a worker's page served by the gateway on another port of
 *       the same host — is refused (403) unless it is a top-level GET navigation (a link someone
 *       followed) or comes from an origin of {@code admin.origins}. So a state-changing method
 *       (DELETE, POST) is accepted only from the same origin, a configured origin, or a client
 *       that is not a browser.
 *   <li><b>A custom header on changes from pages</b>: a request that changes state (any method
 *       but GET, HEAD, OPTIONS) and comes from a browser (it carries {@code Origin} or {@code
 *       Sec-Fetch-Site}) must carry {@value #ADMIN_HEADER}{@code : 1}, which the dashboard sends:
 *       403 otherwise. A page can add a custom header only to a same-origin request (cross-origin
 *       it needs a CORS preflight, which is never granted), so even a browser that sent neither
 *       Origin nor fetch metadata correctly could not forge such a request: defence in depth
 *       against cross-site request forgery, on top of the Origin check.
 * </ol>
 *
 * <p>Non-browser clients (curl, {@code herd status}, Prometheus, orchestrator probes) send a Host
 * and nothing else, and pass. Immutable and thread-safe; no DNS lookups, so it may run on the
 * event loop.
 */
final class AdminAccessPolicy {

  /** A refused request: the status and a short text that says how to get in legitimately. */
  record Refusal(HttpResponseStatus status, String reason) {}

  private static final Set<String> LOOPBACK_NAMES = Set.of("localhost");
  private static final String SEC_FETCH_SITE = "sec-fetch-site";
  private static final String SEC_FETCH_MODE = "sec-fetch-mode";
  /** The header a page's state-changing request must carry (rule 4). */
  static final String ADMIN_HEADER = "X-Herd-Admin";

  /** Host names accepted in {@code Host}, lower case. */
  private final Set<String> names;
  /** IP literals accepted in {@code Host} besides loopback and the connection's own address. */
  private final Set<InetAddress> addresses;
  /** {@code admin.origins}. */
  private final Set<WebOrigin> origins;
  /** For messages: what Host may be. */
  private final String expectedHosts;

  private AdminAccessPolicy(Set<String> names, Set<InetAddress> addresses,
      Set<WebOrigin> origins, String expectedHosts) {
    this.names = Set.copyOf(names);
    this.addresses = Set.copyOf(addresses);
    this.origins = Set.copyOf(origins);
    this.expectedHosts = expectedHosts;
  }

  /** The policy of {@code config}: its listen host, {@code hosts} and {@code origins}. */
  static AdminAccessPolicy of(AdminConfig config) {
    Set<String> names = new HashSet<>(LOOPBACK_NAMES);
    Set<InetAddress> addresses = new HashSet<>();
    List<String> extra = new ArrayList<>(config.hosts());
    String listenHost = config.listen().host();
    if (!listenHost.isEmpty()) {
      extra.add(listenHost);
    }
    for (String host : extra) {
      HttpAuthority a;
      try {
        a = HttpAuthority.parse(host);
      } catch (IllegalArgumentException e) {
        continue; // validated config; an odd listen host just adds nothing
      }
      if (a.isAddress()) {
        if (!a.address().get().isAnyLocalAddress()) {
          addresses.add(a.address().get());
        }
      } else {
        names.add(a.host());
      }
    }
    Set<String> shown = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "[::1]"));
    extra.forEach(h -> shown.add(h.contains(":") ? "[" + h + "]" : h));
    String expected = String.join(", ", shown) + " or the address the client connected to";
    return new AdminAccessPolicy(names, addresses, Set.copyOf(config.origins()), expected);
  }

  /**
   * Why {@code req}, which arrived on a connection to {@code local}, is refused; null when it may
   * go on to the routes.
   */
  Refusal check(HttpRequest req, InetAddress local) {
    List<String> hostHeaders = req.headers().getAll(HttpHeaderNames.HOST);
    if (hostHeaders.size() != 1) {
      return new Refusal(HttpResponseStatus.BAD_REQUEST, "admin API: a request needs exactly one"
          + " Host header: " + hostHeaders.size() + " (expected: Host: 127.0.0.1:PORT or another"
          + " admin name)");
    }
    String hostHeader = hostHeaders.get(0).trim();
    HttpAuthority host;
    try {
      host = HttpAuthority.parse(hostHeader);
    } catch (IllegalArgumentException e) {
      return misdirected(hostHeader);
    }
    if (!hostAllowed(host, local)) {
      return misdirected(hostHeader);
    }

    List<String> originHeaders = req.headers().getAll(HttpHeaderNames.ORIGIN);
    boolean configuredOrigin = false;
    if (!originHeaders.isEmpty()) {
      WebOrigin own = WebOrigin.of("http", host);
      String written = originHeaders.get(0).trim();
      WebOrigin origin;
      try {
        origin = originHeaders.size() == 1 ? WebOrigin.parse(written) : null;
      } catch (IllegalArgumentException e) {
        origin = null;
      }
      configuredOrigin = origin != null && origins.contains(origin);
      if (origin == null || !(origin.equals(own) || configuredOrigin)) {
        return new Refusal(HttpResponseStatus.FORBIDDEN, "admin API: requests from pages of"
            + " other web origins are refused: Origin " + String.join(", ", originHeaders)
            + " (expected: the admin's own origin " + own + ", or an origin listed in"
            + " admin.origins)");
      }
    }

    String site = lower(req.headers().get(SEC_FETCH_SITE));
    if (site != null && !site.equals("same-origin") && !site.equals("none") && !configuredOrigin
        && !isNavigation(req)) {
      return new Refusal(HttpResponseStatus.FORBIDDEN, "admin API: " + site + " "
          + req.method() + " from a web page refused (expected: a same-origin request, a client"
          + " that is not a browser, or a page whose origin is listed in admin.origins)");
    }

    boolean fromBrowser = !originHeaders.isEmpty() || site != null;
    if (fromBrowser && changesState(req.method())
        && !"1".equals(req.headers().get(ADMIN_HEADER))) {
      return new Refusal(HttpResponseStatus.FORBIDDEN, "admin API: a " + req.method()
          + " from a web page must carry the header " + ADMIN_HEADER + ": 1, against cross-site"
          + " request forgery (expected: " + ADMIN_HEADER + ": 1, as the dashboard sends; clients"
          + " that are not browsers need nothing)");
    }
    return null;
  }

  private static boolean changesState(HttpMethod method) {
    return !(method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)
        || method.equals(HttpMethod.OPTIONS));
  }

  private boolean hostAllowed(HttpAuthority host, InetAddress local) {
    if (host.isAddress()) {
      InetAddress a = host.address().get();
      return a.isLoopbackAddress() || a.equals(local) || addresses.contains(a);
    }
    return names.contains(host.host());
  }

  /** A top-level GET navigation: someone followed a link; the page that had it reads nothing. */
  private static boolean isNavigation(HttpRequest req) {
    return (req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD))
        && "navigate".equals(lower(req.headers().get(SEC_FETCH_MODE)));
  }

  private Refusal misdirected(String hostHeader) {
    return new Refusal(HttpResponseStatus.MISDIRECTED_REQUEST, "admin API: Host " + hostHeader
        + " is not a name of this admin API (expected: " + expectedHosts + "; add other names"
        + " to admin.hosts)");
  }

  private static String lower(String s) {
    return s == null ? null : s.trim().toLowerCase(Locale.ROOT);
  }
}
