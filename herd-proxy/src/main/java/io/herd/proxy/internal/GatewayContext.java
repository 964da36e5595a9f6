package io.herd.proxy.internal;

import io.herd.core.SessionPool;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.ProxyTimeouts;
import io.herd.proxy.HopSigner;
import io.herd.proxy.SessionRouter;
import io.herd.proxy.SessionKeySigner;
import io.herd.proxy.SessionKeyRule;
import io.netty.channel.group.ChannelGroup;
import java.time.Duration;
import java.util.Objects;

/**
 * One pool behind a gateway, and what every connection of the gateway shares: the pool and the
 * router in front of it, the hop signer, the options and rule, the per-session gates, the worker
 * connections, the set of open client connections and the drain flag. A gateway with several
 * pools has one context per pool ({@link PoolSelector} picks one per request); they share the
 * gateway's options, clients and hops, but not their worker connections (worker ids are only
 * unique within a pool) nor their session options ({@link #sessionOptions}).
 *
 * <p>Thread-safe: all fields are final and thread-safe, but {@link #draining}, which is volatile
 * and only ever goes from false to true. Lives as long as its gateway.
 */
public final class GatewayContext {

  final SessionPool pool;
  /** Where each session is served: {@link SessionRouter#local} unless a cluster routes. */
  final SessionRouter router;
  /** Signs hops to peer gateways and checks hops from them; null when the gateway takes none. */
  final HopSigner hops;
  final GatewayOptions options;
  /** The {@code session.*} options of this pool: issueKeys, signer, gates, keyTtl. */
  final GatewayOptions sessionOptions;
  /** The pool's name ({@code default} for a gateway of one pool) and which requests it takes. */
  final String name;
  final io.herd.proxy.PoolMatch match;
  final SessionKeyRule rule;
  final SessionKeySigner signer;
  final SessionGates gates;
  final UpstreamPool upstreams;
  final LeaseAcquirer leases;
  final ChannelGroup clients;
  final long retryAfterSeconds;
  /** The key's header name with a {@code header:} rule, else null; read per request. */
  final String keyHeader;
  /** The key's cookie name with a {@code cookie:} rule, else null; read per response. */
  final String keyCookie;
  /** {@code session.keyTtl}, or null; read per response. */
  final Duration keyTtl;
  private volatile boolean draining;
  /**
   * The timeouts in force: replaced whole by {@link #timeouts(ProxyTimeouts)} (a reload), read
   * each time a timer is armed. Volatile; immutable itself.
   */
  private volatile ProxyTimeouts timeouts;

  /** A gateway that serves every session from {@code pool} and takes no hops. */
  public GatewayContext(
      SessionPool pool,
      GatewayOptions options,
      SessionKeyRule rule,
      UpstreamPool upstreams,
      ChannelGroup clients) {
    this(pool, SessionRouter.local(pool), null, options, rule, upstreams, clients);
  }

  /** A single-pool gateway's context: the pool takes every request. */
  public GatewayContext(
      SessionPool pool,
      SessionRouter router,
      HopSigner hops,
      GatewayOptions options,
      SessionKeyRule rule,
      UpstreamPool upstreams,
      ChannelGroup clients) {
    this("default", io.herd.proxy.PoolMatch.ANY, pool, router, hops, options, options, rule,
        upstreams, clients);
  }

  /**
   * @param router asked for every lease, in place of the pool
   * @param hops null when the gateway neither forwards to peers nor takes forwarded requests
   * @param sessionOptions whose {@code session.*} part applies to this pool
   */
  public GatewayContext(
      String name,
      io.herd.proxy.PoolMatch match,
      SessionPool pool,
      SessionRouter router,
      HopSigner hops,
      GatewayOptions options,
      GatewayOptions sessionOptions,
      SessionKeyRule rule,
      UpstreamPool upstreams,
      ChannelGroup clients) {
    this.name = Objects.requireNonNull(name, "name");
    this.match = Objects.requireNonNull(match, "match");
    this.sessionOptions = Objects.requireNonNull(sessionOptions, "sessionOptions");
    this.pool = pool;
    this.router = Objects.requireNonNull(router, "router");
    this.hops = hops;
    this.options = options;
    this.rule = rule;
    this.signer = sessionOptions.signer().orElse(null);
    this.gates = new SessionGates(sessionOptions.sessionConcurrency(), sessionOptions.sessionQueue());
    this.upstreams = upstreams;
    this.leases = new LeaseAcquirer(this);
    this.clients = clients;
    long ms = options.retryAfter().toMillis();
    this.retryAfterSeconds = Math.max(1, (ms + 999) / 1000);
    this.keyHeader = KeyRules.headerName(rule).orElse(null);
    this.keyCookie = rule.cookieName().orElse(null);
    this.keyTtl = sessionOptions.keyTtl().orElse(null);
    this.timeouts = ProxyTimeouts.of(options);
  }

  /** The timeouts in force now. */
  public ProxyTimeouts timeouts() {
    return timeouts;
  }

  /** Replaces the timeouts; timers armed from now on use them. */
  public void timeouts(ProxyTimeouts next) {
    this.timeouts = Objects.requireNonNull(next, "next");
  }

  public String name() {
    return name;
  }

  public io.herd.proxy.PoolMatch match() {
    return match;
  }

  public SessionPool pool() {
    return pool;
  }

  public SessionKeyRule rule() {
    return rule;
  }

  public UpstreamPool upstreams() {
    return upstreams;
  }

  /** Stops keep-alive: connections close once their current exchange is over. */
  public void startDraining() {
    draining = true;
  }

  public boolean draining() {
    return draining;
  }

  public SessionGates gates() {
    return gates;
  }
}
