package io.herd.server.reload;

import io.herd.server.runtime.PoolRuntime;
import java.util.Map;
import java.util.LinkedHashMap;
import io.herd.server.config.PoolSpec;
import io.herd.proxy.HerdGateway;
import io.herd.server.config.ConfigProblem;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.InvalidConfigFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration file on request (SIGHUP, {@code POST /reload}) and applies it: an
 * invalid file is rejected with the problems {@code herd validate} prints and nothing changes;
 * a valid one is compared with what is in force, its live changes are applied ({@link
 * LiveReconfigurer}) and every change is logged in one block, saying which need a restart.
 *
 * <p>Reloads run one at a time, in order of request, on one thread this coordinator owns ({@code
 * herd-reload}): a signal handler or an event loop only enqueues, and two reloads never
 * interleave. Thread-safe. Lifetime: from construction to {@link #close()}, after which a reload
 * request fails at once.
 */
public final class ReloadCoordinator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger("herd.reload");

  private final String source;
  private final Supplier<HerdConfig> reader;
  private final HerdConfig started;
  private final HerdGateway gateway;
  private final List<PoolRuntime> pools;
  private final boolean logLevelPinned;
  private final ExecutorService thread;

  /**
   * @param source the file's name, for logs and answers
   * @param reader reads and validates the file (with the command line's overrides), throwing
   *     {@link InvalidConfigFileException} with every problem
   * @param started the configuration the gateway started with
   * @param pools the running pools, in the order of their sections (one today)
   * @param logLevelPinned whether {@code --log-level} was given: it then wins over {@code
   *     logging.level}
   */
  public ReloadCoordinator(String source, Supplier<HerdConfig> reader, HerdConfig started,
      HerdGateway gateway, List<PoolRuntime> pools, boolean logLevelPinned) {
    this.source = Objects.requireNonNull(source, "source");
    this.reader = Objects.requireNonNull(reader, "reader");
    this.started = Objects.requireNonNull(started, "started");
    this.gateway = Objects.requireNonNull(gateway, "gateway");
    this.pools = List.copyOf(pools);
    this.logLevelPinned = logLevelPinned;
    this.thread = new ThreadPoolExecutor(0, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "herd-reload");
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * Queues a reload; the future completes once it is done, never exceptionally.
   *
   * @param trigger what asked for it, for the log: {@code SIGHUP}, {@code POST /reload}
   */
  public CompletableFuture<ReloadOutcome> reload(String trigger) {
    try {
      return CompletableFuture.supplyAsync(() -> reloadNow(trigger), thread);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(new ReloadOutcome(ReloadOutcome.Status.FAILED,
          source, List.of(), List.of(), List.of("the gateway is stopping")));
    }
  }

  private ReloadOutcome reloadNow(String trigger) {
    HerdConfig next;
    try {
      next = reader.get();
    } catch (InvalidConfigFileException e) {
      List<String> problems = e.problems().stream().map(ConfigProblem::toString).toList();
      log.error("config reload ({}) rejected: {} problem(s) in {}; the configuration in force"
          + " stays, nothing changed\n  {}", trigger, problems.size(), source,
          String.join("\n  ", problems));
      return new ReloadOutcome(ReloadOutcome.Status.REJECTED, source, List.of(), List.of(),
          problems);
    }
    List<ConfigChange> changes = new ArrayList<>();
    try {
      changes.addAll(applyPools(next));
      changes.addAll(LiveReconfigurer.applyGateway(started, next, gateway, logLevelPinned));
    } catch (RuntimeException e) {
      // Not expected: the file passed validation. Say what was applied before it stopped.
      log.error("config reload ({}) from {} failed part-way: {}; applied before that: {}",
          trigger, source, e.toString(), changes.stream().filter(ConfigChange::live).toList(),
          e);
      return new ReloadOutcome(ReloadOutcome.Status.FAILED, source,
          changes.stream().filter(ConfigChange::live).toList(), List.of(),
          List.of("applying the reloaded config failed: " + e));
    }
    for (var warning : next.warnings()) {
      log.warn("{}", warning);
    }
    List<ConfigChange> applied = changes.stream().filter(ConfigChange::live).toList();
    List<ConfigChange> restart = changes.stream().filter(c -> !c.live()).toList();
    if (changes.isEmpty()) {
      log.info("config reload ({}) from {}: no changes", trigger, source);
      return new ReloadOutcome(ReloadOutcome.Status.UNCHANGED, source, applied, restart,
          List.of());
    }
    StringBuilder block = new StringBuilder();
    block.append("config reload (").append(trigger).append(") from ").append(source).append(": ")
        .append(applied.size()).append(" change(s) applied, ").append(restart.size())
        .append(" need(s) a restart");
    applied.forEach(c -> block.append("\n  applied: ").append(c));
    restart.forEach(c -> block.append("\n  needs a restart: ").append(c));
    if (restart.isEmpty()) {
      log.info("{}", block);
    } else {
      log.warn("{}", block);
    }
    return new ReloadOutcome(ReloadOutcome.Status.APPLIED, source, applied, restart, List.of());
  }

  /** Stops taking reloads; one in progress finishes. */
  @Override
  public void close() {
    thread.shutdown();
  }

  /**
   * Applies each running pool's section of {@code next}, matched by name. A pool added, removed
   * or renamed, or one whose {@code match} changed, needs a restart (the gateway's routes are
   * fixed at start); with several pools, each change's key names its pool ({@code
   * pools[web].pool.max}).
   */
  private List<ConfigChange> applyPools(HerdConfig next) {
    List<ConfigChange> changes = new ArrayList<>();
    Map<String, PoolSpec> nextByName = new LinkedHashMap<>();
    next.pools().forEach(spec -> nextByName.put(spec.name(), spec));
    boolean multi = pools.size() > 1 || next.pools().size() > 1;
    for (PoolRuntime pool : pools) {
      PoolSpec spec = nextByName.remove(pool.name());
      if (spec == null) {
        changes.add(new ConfigChange("pools[" + pool.name() + "]", "present", "removed", false,
            "kept until a restart"));
        continue;
      }
      if (!spec.match().equals(pool.spec().match())) {
        changes.add(new ConfigChange("pools[" + pool.name() + "].match",
            pool.spec().match().describe(), spec.match().describe(), false,
            "kept until a restart"));
      }
      for (ConfigChange change : LiveReconfigurer.applyPool(spec.pool(), spec.worker(), spec.vm(), pool)) {
        changes.add(multi ? new ConfigChange("pools[" + pool.name() + "]." + change.key(),
            change.before(), change.after(), change.live(), change.note()) : change);
      }
    }
    for (String added : nextByName.keySet()) {
      changes.add(new ConfigChange("pools[" + added + "]", "absent", "added", false,
          "needs a restart"));
    }
    return changes;
  }
}
