package io.herd.server.reload;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The changes between the configuration in force and a newly read one, key by key ({@link
 * ConfigSnapshot}), each marked live (the running gateway takes it) or restart-only (the value in
 * force stays until the gateway restarts). This class is the one place that says which keys are
 * live; {@code docs/config.md} lists the same.
 *
 * <p>Live: every {@code pool.*} key but {@code pool.name}; every {@code worker.*} key but {@code
 * worker.vm.*} (for workers started from then on; of a pool of microVMs, only the health
 * timings: {@link LiveReconfigurer} says so); the proxy timeouts; {@code logging.level}; and the sandbox limits ({@code
 * sandbox.memory}, {@code cpus}, {@code pids}) while each stays on (turning one on or off needs a
 * sandbox created anew). Everything else needs a restart: addresses, admin API, session rules,
 * TLS, cluster, the other proxy and sandbox keys. Stateless.
 */
public final class ConfigDiff {

  private static final Set<String> LIVE_PROXY_KEYS = Set.of("proxy.headerTimeout",
      "proxy.idleTimeout", "proxy.bodyTimeout", "proxy.connectTimeout", "proxy.upstreamTimeout",
      "proxy.drainTimeout");
  private static final Set<String> SANDBOX_LIMITS =
      Set.of("sandbox.memory", "sandbox.cpus", "sandbox.pids");

  private ConfigDiff() {}

  /** Every key whose value differs, in the order of {@code inForce} then new keys. */
  static List<ConfigChange> between(Map<String, Setting> inForce, Map<String, Setting> next) {
    Set<String> keys = new LinkedHashSet<>(inForce.keySet());
    keys.addAll(next.keySet());
    List<ConfigChange> out = new ArrayList<>();
    for (String key : keys) {
      Setting before = inForce.getOrDefault(key, Setting.of("none"));
      Setting after = next.getOrDefault(key, Setting.of("none"));
      if (Objects.equals(before.value(), after.value())) {
        continue;
      }
      boolean live = isLive(key, before, after);
      out.add(new ConfigChange(key, before.shown(), after.shown(), live, note(key, live)));
    }
    return out;
  }

  /** Whether the running gateway can take a change of {@code key} from before to after. */
  static boolean isLive(String key, Setting before, Setting after) {
    if (SANDBOX_LIMITS.contains(key)) {
      return !before.shown().equals("off") && !after.shown().equals("off");
    }
    if (key.equals("pool.name") || key.equals("worker.vm") || key.startsWith("worker.vm.")) {
      return false;
    }
    return key.startsWith("pool.") || key.startsWith("worker.") || key.equals("logging.level")
        || LIVE_PROXY_KEYS.contains(key);
  }

  private static String note(String key, boolean live) {
    if (live) {
      return key.startsWith("worker.health.") ? ""
          : key.startsWith("worker.") || key.startsWith("sandbox.") ? "new workers" : "";
    }
    if (SANDBOX_LIMITS.contains(key)) {
      return "a limit turned on or off: kept until a restart";
    }
    return "kept until a restart";
  }
}
