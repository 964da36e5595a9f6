package io.herd.proxy;

import io.herd.core.SessionPool;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One pool behind a gateway that serves several ({@link HerdGateway#routing}): the requests it
 * takes ({@link PoolMatch}), its pool, where its session key is ({@link SessionKeyRule}, applied
 * after the pool is selected and its prefix stripped), its per-session options (the {@code
 * session.*} part of {@link GatewayOptions}: concurrency, queue, secret, issueKeys, keyTtl; the
 * gateway's own options supply everything else), and optionally a {@link SessionRouter}.
 *
 * @param name the pool's name, for errors and logs ({@code [a-z0-9-]+})
 * @param router null for {@link SessionRouter#local} of the pool
 */
public record GatewayRoute(String name, PoolMatch match, SessionPool pool, SessionKeyRule rule,
    GatewayOptions sessionOptions, SessionRouter router) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

  public GatewayRoute {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("pool name is invalid: " + name
          + " (expected: lower-case letters, digits and -)");
    }
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(rule, "rule");
    Objects.requireNonNull(sessionOptions, "sessionOptions");
  }
}
