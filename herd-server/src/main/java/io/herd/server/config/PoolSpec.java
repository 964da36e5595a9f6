package io.herd.server.config;

import io.herd.core.PoolConfig;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.PoolMatch;
import io.herd.proxy.SessionKeyRule;
import io.herd.vm.VmConfig;
import java.util.Objects;
import java.util.Optional;

/**
 * One pool of a gateway, validated: its name, the requests it takes, and its own {@code worker},
 * {@code session} and {@code pool} settings ({@code sandbox} is inside {@link #worker}). A file in
 * the single-pool form (top-level {@code worker:}, {@code session:}, {@code pool:}, {@code
 * sandbox:}) has one, named by {@code pool.name}, that takes every request. Immutable.
 *
 * @param name the pool's name: {@code pools[].name}, or {@code pool.name} in the single-pool form
 * @param match which requests it serves ({@link PoolMatch#ANY} in the single-pool form)
 * @param sessionKey the session key rule as written, applied after the pool's prefix is stripped
 * @param worker how its workers are started, sandbox included; for microVM workers, how their
 *     VMM process is (health path, timeouts, sandbox)
 * @param pool how it sizes itself; its name is {@link #name}
 * @param sessionOptions its {@code session.*} options (concurrency, queue, secret, issueKeys,
 *     keyTtl), as a {@link GatewayOptions} whose other values are unused
 * @param vm {@code worker.vm}: its workers are microVMs booted from this; empty for programs
 */
public record PoolSpec(String name, PoolMatch match, String sessionKey,
    ProcessWorkerConfig worker, PoolConfig pool, GatewayOptions sessionOptions,
    Optional<VmConfig> vm) {

  /** A pool of program workers. */
  public PoolSpec(String name, PoolMatch match, String sessionKey, ProcessWorkerConfig worker,
      PoolConfig pool, GatewayOptions sessionOptions) {
    this(name, match, sessionKey, worker, pool, sessionOptions, Optional.empty());
  }

  public PoolSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(sessionKey, "sessionKey");
    Objects.requireNonNull(worker, "worker");
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(sessionOptions, "sessionOptions");
    Objects.requireNonNull(vm, "vm");
  }

  /** The parsed session key rule. */
  public SessionKeyRule sessionKeyRule() {
    return SessionKeyRule.parse(sessionKey);
  }
}
