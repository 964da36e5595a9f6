package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.core.PoolConfig;
import java.util.Map;

/**
 * Binds {@code pool:} (and the health timing of {@code worker.health}) to herd-core's {@link
 * PoolConfig}, whose validation messages are reported at the lines of their keys. {@code
 * suspendAfter} needs microVM workers ({@code worker.vm}): only they can be saved. Stateless.
 */
final class PoolSection {

  private PoolSection() {}

  /** The pool config, or null when it had errors. */
  static PoolConfig bind(SectionReader r, WorkerSection worker) {
    PoolConfig d = PoolConfig.builder().build();
    PoolConfig.Builder b = PoolConfig.builder()
        .name(r.string("name", d.name()))
        .min(r.integer("min", d.min()))
        .max(r.integer("max", d.max()))
        .warm(r.integer("warm", d.warm()))
        .maxQueue(r.integer("maxQueue", d.maxQueue()))
        .acquireTimeout(r.duration("acquireTimeout", d.acquireTimeout()))
        .ttl(r.duration("ttl", d.ttl()))
        .maxLifetime(r.optionalDuration("maxLifetime").orElse(null))
        .suspendAfter(r.optionalDuration("suspendAfter").orElse(null))
        .reuse(r.bool("reuse", d.reuse()))
        .maxSessionsPerWorker(r.integer("maxSessionsPerWorker", d.maxSessionsPerWorker()))
        .evictIdleOnPressure(r.bool("evictIdleOnPressure", d.evictIdleOnPressure()))
        .spawnBackoffInitial(r.duration("spawnBackoffInitial", d.spawnBackoffInitial()))
        .spawnBackoffMax(r.duration("spawnBackoffMax", d.spawnBackoffMax()))
        .healthInterval(worker.healthInterval())
        .healthTimeout(worker.healthTimeout())
        .healthFailures(worker.healthFailures());
    r.finish();
    if (r.has("suspendAfter") && worker.vm() == null && !worker.vmFailed()) {
      // The pool would refuse it at start; said here with the fix, at the key's line.
      r.error("suspendAfter", r.keyOf("suspendAfter") + " needs workers whose state can be"
          + " saved, and program workers cannot be: " + r.string("suspendAfter", "")
          + " (expected: worker.vm, or no pool.suspendAfter)");
      return null;
    }
    try {
      return b.build();
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of("pool.healthFailures", "worker.health.failures"));
      return null;
    }
  }
}
