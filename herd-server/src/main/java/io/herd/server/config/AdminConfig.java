package io.herd.server.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The admin API's settings ({@code admin:}). Immutable; the token is masked in {@link
 * #toString()}.
 *
 * <p>{@code hosts} and {@code origins} widen what the admin API accepts from browsers and
 * proxies; the loopback names, the listen address and the admin's own origin are always accepted
 * (see {@code AdminAccessPolicy}), so both are empty by default.
 *
 * @param listen where the admin API binds; loopback by default
 * @param token the bearer token it requires, when set; required off loopback
 * @param hosts further names (or IP addresses) the admin API answers to in {@code Host}, lower
 *     case, IPv6 without brackets
 * @param origins further web origins whose pages may call it
 */
public record AdminConfig(
    HostPort listen, Optional<String> token, List<String> hosts, List<WebOrigin> origins) {

  /** The default admin address. */
  public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 9090);

  /** Shortest token accepted: shorter ones can be guessed over the network. */
  public static final int MIN_TOKEN_LENGTH = 16;

  public AdminConfig {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(token, "token");
    hosts = List.copyOf(hosts);
    origins = List.copyOf(origins);
  }

  /** Settings with no extra hosts or origins. */
  public AdminConfig(HostPort listen, Optional<String> token) {
    this(listen, token, List.of(), List.of());
  }

  @Override
  public String toString() {
    return "AdminConfig{listen=" + listen + ", token=" + (token.isPresent() ? "****" : "none")
        + ", hosts=" + hosts + ", origins=" + origins + "}";
  }

  /** Binds {@code admin:}; {@code listenOverride} (from {@code --admin-listen}) wins. */
  static AdminConfig bind(SectionReader r, HostPort listenOverride) {
    HostPort listen = r.hostPort("listen", DEFAULT_LISTEN);
    if (listenOverride != null) {
      listen = listenOverride;
    }
    Optional<String> token = r.string("token").filter(t -> !t.isEmpty());
    if (token.isPresent() && token.get().length() < MIN_TOKEN_LENGTH) {
      r.error("token", "admin.token is too short: " + token.get().length()
          + " characters (expected: >= " + MIN_TOKEN_LENGTH + " characters)");
    } else if (token.isPresent() && !token.get().chars().allMatch(c -> c > ' ' && c < 127)) {
      r.error("token", "admin.token has characters a header cannot carry: (masked)"
          + " (expected: printable ASCII without spaces)");
    }
    if (token.isEmpty() && !listen.isLoopback()) {
      r.error(r.has("listen") ? "listen" : "token", "admin.token is missing while admin.listen"
          + " is not a loopback address: " + listen + " (expected: a token of >= "
          + MIN_TOKEN_LENGTH + " characters, e.g. token: ${HERD_ADMIN_TOKEN}, or a loopback"
          + " admin.listen)");
    }
    List<String> hosts = bindHosts(r);
    List<WebOrigin> origins = bindOrigins(r);
    r.finish();
    return new AdminConfig(listen, token, hosts, origins);
  }

  private static List<String> bindHosts(SectionReader r) {
    List<String> written = r.stringList("hosts", List.of());
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < written.size(); i++) {
      String key = r.keyOf("hosts") + "[" + i + "]";
      String value = written.get(i);
      try {
        HttpAuthority a = HttpAuthority.parse(value.trim());
        if (a.port() >= 0) {
          r.problems().errorAt(key, key + " has a port: " + value + " (expected: "
              + HttpAuthority.EXPECTED_HOST + ", without port: any port is accepted)");
          continue;
        }
        hosts.add(a.host());
      } catch (IllegalArgumentException e) {
        r.problems().errorAt(key, key + " is not a host name: " + value + " (expected: "
            + HttpAuthority.EXPECTED_HOST + ")");
      }
    }
    return hosts;
  }

  private static List<WebOrigin> bindOrigins(SectionReader r) {
    List<String> written = r.stringList("origins", List.of());
    List<WebOrigin> origins = new ArrayList<>();
    for (int i = 0; i < written.size(); i++) {
      String key = r.keyOf("origins") + "[" + i + "]";
      String value = written.get(i);
      try {
        origins.add(WebOrigin.parse(value.trim()));
      } catch (IllegalArgumentException e) {
        r.problems().errorAt(key, key + " is not a web origin: " + value + " (expected: "
            + WebOrigin.EXPECTED + ")");
      }
    }
    return origins;
  }
}
