package io.herd.server.config;

import java.util.Optional;

/**
 * The admin API's settings ({@code admin:}). Immutable; the token is masked in {@link
 * #toString()}.
 *
 * @param listen where the admin API binds; loopback by default
 * @param token the bearer token it requires, when set; required off loopback
 */
public record AdminConfig(HostPort listen, Optional<String> token) {

  /** The default admin address. */
  public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 9090);

  /** Shortest token accepted: shorter ones can be guessed over the network. */
  public static final int MIN_TOKEN_LENGTH = 16;

  @Override
  public String toString() {
    return "AdminConfig{listen=" + listen + ", token=" + (token.isPresent() ? "****" : "none")
        + "}";
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
    r.finish();
    return new AdminConfig(listen, token);
  }
}
