package io.herd.server.config;

import io.herd.cluster.ClusterConfig;
import io.herd.core.PoolConfig;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.SessionKeyRule;
import io.herd.vm.VmConfig;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated configuration of {@code herd serve}: one gateway, one or more pools of process
 * workers ({@link #pools}), the admin API. Built only by {@link HerdConfigLoader}, so every instance passed all checks.
 * Immutable; the parts are herd-core's and herd-proxy's own validated config objects.
 *
 * <p>To add a section (e.g. {@code sandbox:}): add a component here, bind it in {@link
 * HerdConfigLoader#bind} with its own binder class reading a {@link SectionReader}, and document
 * its keys in {@code docs/config.md}. Unknown-key detection and line numbers come for free.
 *
 * @param source where it came from, for logs: a file name or {@code built-in demo}
 * @param listen the gateway's address
 * @param admin the admin API's settings
 * @param sessionKey the session key rule as written, e.g. {@code header:X-Session-ID}
 * @param worker how workers are started
 * @param pool how the pool sizes itself
 * @param proxy how the gateway reads requests and talks to workers
 * @param tls TLS for the gateway, when configured
 * @param cluster how this gateway shares sessions with its peers through etcd, when configured;
 *     its prefix already ends with the pool's name
 * @param logging the {@code logging:} section: the access log and the level of Herd's loggers
 * @param warnings what is suspicious but allowed (e.g. a program missing on this machine)
 * @param pools every pool, in the order written; one in the single-pool form. {@code
 *     sessionKey}, {@code worker} and {@code pool} above are the first pool's
 */
public record HerdConfig(
    String source,
    HostPort listen,
    AdminConfig admin,
    String sessionKey,
    ProcessWorkerConfig worker,
    PoolConfig pool,
    GatewayOptions proxy,
    Optional<TlsConfig> tls,
    Optional<ClusterConfig> cluster,
    LoggingConfig logging,
    List<ConfigProblem> warnings,
    List<PoolSpec> pools) {

  /** The default gateway address. */
  public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 8080);

  public HerdConfig {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(admin, "admin");
    Objects.requireNonNull(sessionKey, "sessionKey");
    Objects.requireNonNull(worker, "worker");
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(proxy, "proxy");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(cluster, "cluster");
    Objects.requireNonNull(logging, "logging");
    warnings = List.copyOf(warnings);
    pools = List.copyOf(pools);
    if (pools.isEmpty()) {
      throw new IllegalArgumentException("a configuration needs at least one pool");
    }
  }

  /** Whether the file lists {@code pools:} of its own (else one pool takes every request). */
  public boolean multiPool() {
    return pools.size() > 1 || !pools.get(0).match().matchesAll();
  }

  /** {@code logging.level}, when set: the level of Herd's loggers. */
  public Optional<String> logLevel() {
    return logging.level();
  }

  /** The first pool's {@code worker.vm}: its workers are microVMs; empty for programs. */
  public Optional<VmConfig> vm() {
    return pools.get(0).vm();
  }

  /** The parsed session key rule. */
  public SessionKeyRule sessionKeyRule() {
    return SessionKeyRule.parse(sessionKey);
  }
}
