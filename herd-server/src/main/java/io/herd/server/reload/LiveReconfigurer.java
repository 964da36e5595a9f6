package io.herd.server.reload;

import io.herd.server.runtime.PoolRuntime;
import io.herd.core.PoolConfig;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.proxy.HerdGateway;
import io.herd.proxy.ProxyTimeouts;
import io.herd.server.config.HerdConfig;
import io.herd.server.logging.LogLevels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.herd.vm.VmConfig;

/**
 * Applies a new configuration to running objects: what {@link ConfigDiff} calls live is handed
 * to them; the rest is only reported. Two steps, because a gateway is a set of pools behind one
 * front: {@link #applyPool} for one pool's sections and runtime objects (called once per pool),
 * {@link #applyGateway} for the gateway's own keys.
 *
 * <p>The value in force of each key is read from the running objects themselves ({@code
 * pool.config()}, {@code factory.config()}, {@code gateway.timeouts()}, the log level), so a
 * key that needs a restart keeps being reported, reload after reload, until the restart.
 *
 * <p>Stateless; its callers serialise reloads ({@link ReloadCoordinator}).
 */
public final class LiveReconfigurer {

  private LiveReconfigurer() {}

  /**
   * Applies one pool's new {@code pool:}, {@code worker:} and {@code sandbox:} sections to its
   * running pool and worker factory; returns every change, applied or not. Sessions are never
   * ended: the pool takes its sizes at once and lets busy workers above a lowered max finish,
   * and the factory starts new workers with the new command, environment and limits while
   * workers already running keep theirs.
   */
  public static List<ConfigChange> applyPool(PoolConfig nextPool, ProcessWorkerConfig nextWorker,
      Optional<VmConfig> nextVm, PoolRuntime runtime) {
    PoolConfig poolInForce = runtime.pool().config();
    ProcessWorkerConfig workerInForce = runtime.workers().config();
    List<ConfigChange> changes = ConfigDiff.between(
        ConfigSnapshot.pool(poolInForce, workerInForce, runtime.spec().vm()),
        ConfigSnapshot.pool(nextPool, nextWorker, nextVm));
    // A pool of microVMs (or one about to become one) starts its workers as it did at start.
    boolean workersLive = runtime.workers().reconfigurable() && nextVm.isEmpty();
    List<ConfigChange> out = new ArrayList<>(changes.size());
    boolean poolChanged = false;
    boolean workerChanged = false;
    for (ConfigChange c : changes) {
      boolean workerKey = (c.key().startsWith("worker.") && !c.key().startsWith("worker.health."))
          || c.key().equals("worker.health.path") || c.key().startsWith("sandbox.");
      if (c.live() && workerKey && !workersLive) {
        c = new ConfigChange(c.key(), c.before(), c.after(), false,
            "microVM workers: kept until a restart");
      }
      out.add(c);
      if (!c.live()) {
        continue;
      }
      workerChanged |= workerKey;
      poolChanged |= !workerKey;
    }
    changes = out;
    if (workerChanged) {
      runtime.workers().reconfigure(nextWorker);
    }
    if (poolChanged) {
      // The name stays: it is restart-only, and reported as such when it changed.
      runtime.pool().reconfigure(nextPool.toBuilder().name(poolInForce.name()).build());
    }
    return changes;
  }

  /**
   * Applies the gateway's own live keys: the proxy timeouts and, unless {@code --log-level}
   * pinned it, {@code logging.level}. Returns every change of the gateway's keys, applied or not.
   *
   * @param started the configuration the gateway started with: the value in force of every key
   *     that needs a restart
   * @param logLevelPinned whether {@code --log-level} was given, which wins over the file
   */
  public static List<ConfigChange> applyGateway(HerdConfig started, HerdConfig next,
      HerdGateway gateway, boolean logLevelPinned) {
    String levelInForce = LogLevels.current().orElse("info");
    Optional<String> fileLevel = next.logLevel();
    // As at start: --log-level, else the file's logging.level, else info.
    String levelNext = logLevelPinned ? levelInForce : fileLevel.orElse("info");
    Map<String, Setting> inForce =
        ConfigSnapshot.gateway(started, gateway.timeouts(), levelInForce);
    ProxyTimeouts timeoutsNext = ProxyTimeouts.of(next.proxy());
    List<ConfigChange> changes = ConfigDiff.between(inForce,
        ConfigSnapshot.gateway(next, timeoutsNext, levelNext));
    if (!timeoutsNext.equals(gateway.timeouts())) {
      gateway.updateTimeouts(timeoutsNext);
    }
    if (!levelNext.equals(levelInForce)) {
      LogLevels.set(levelNext);
    }
    if (logLevelPinned && fileLevel.isPresent() && !fileLevel.get().equals(levelInForce)) {
      changes = new ArrayList<>(changes);
      changes.add(new ConfigChange("logging.level", levelInForce, fileLevel.get(), false,
          "--log-level on the command line wins over the file"));
    }
    return changes;
  }
}
