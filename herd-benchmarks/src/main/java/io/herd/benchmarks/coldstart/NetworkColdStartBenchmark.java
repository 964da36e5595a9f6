package io.herd.benchmarks.coldstart;

import io.herd.core.Worker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What network isolation adds to a cold start: {@code factory.spawn(id)} until the worker is
 * healthy, with everything else of the sandbox off, so that the difference is the network's
 * alone. Not a JMH benchmark, for the reasons {@link ColdStartBenchmark} gives. Needs root (and
 * iproute2, util-linux, nftables).
 *
 * <ul>
 *   <li>{@link Mode#PLAIN}: no sandbox at all (the baseline: setpriv and the worker);
 *   <li>{@link Mode#ISOLATED_SPARE}: {@code network: isolated} with {@code networkSpares: 2}, the
 *       default: the worker gets a network built ahead, so the spawn pays only {@code nsenter};
 *   <li>{@link Mode#ISOLATED_ON_DEMAND}: {@code networkSpares: 0}: the spawn also builds the
 *       namespace, veth pair and firewall ({@code ip -batch}, then {@code nsenter sh -c 'ip
 *       -batch; sysctl; nft'}).
 * </ul>
 *
 * <p>Each round runs every mode once, in an order that rotates; between rounds it pauses {@code
 * --pause} ms (default 300) so that spares are rebuilt, as between a gateway's cold starts. Each
 * timed span excludes stopping the worker; the next starts after the previous worker has exited
 * and its network is removed.
 *
 * <p>Run (as root, after {@code bench/cold-start.sh} has built the worker and the jar):
 *
 * <pre>
 * java -cp herd-benchmarks/target/benchmarks.jar \
 *     io.herd.benchmarks.coldstart.NetworkColdStartBenchmark \
 *     --worker bench-out/coldstart-worker --rounds 100 --warmup 10
 * </pre>
 *
 * <p>{@code --bind-any} starts the worker as {@code worker PORT any} (0.0.0.0 instead of
 * 127.0.0.1), for comparisons with code that had no DNAT to 127.0.0.1; {@code --modes
 * PLAIN,ISOLATED_ON_DEMAND} runs only those.
 */
public final class NetworkColdStartBenchmark {

  /** What one timed span covers; see the class comment. */
  enum Mode {
    PLAIN,
    ISOLATED_SPARE,
    ISOLATED_ON_DEMAND
  }

  private final Path worker;
  private final int rounds;
  private final int warmup;
  private final long pauseMillis;
  private final boolean bindAny;
  private final List<Mode> modes;
  private final Map<Mode, long[]> nanos = new EnumMap<>(Mode.class);

  private NetworkColdStartBenchmark(Path worker, int rounds, int warmup, long pauseMillis,
      boolean bindAny, List<Mode> modes) {
    this.worker = worker;
    this.rounds = rounds;
    this.warmup = warmup;
    this.pauseMillis = pauseMillis;
    this.bindAny = bindAny;
    this.modes = modes;
    modes.forEach(m -> nanos.put(m, new long[rounds]));
  }

  public static void main(String[] args) throws Exception {
    Path worker = null;
    int rounds = 100;
    int warmup = 10;
    long pause = 300;
    boolean bindAny = false;
    List<Mode> modes = List.of(Mode.values());
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--worker" -> worker = Path.of(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--pause" -> pause = Long.parseLong(args[++i]);
        case "--bind-any" -> bindAny = true;
        case "--modes" -> modes = Arrays.stream(args[++i].split(",")).map(Mode::valueOf).toList();
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]
            + " (expected: --worker PATH [--rounds N] [--warmup N] [--pause MS] [--bind-any]"
            + " [--modes A,B])");
      }
    }
    if (worker == null || !Files.isExecutable(worker)) {
      throw new IllegalArgumentException("--worker is not an executable file: " + worker
          + " (expected: the binary built from bench/coldstart/worker.c)");
    }
    new NetworkColdStartBenchmark(worker.toAbsolutePath(), rounds, warmup, pause, bindAny, modes)
        .run(System.out);
  }

  private void run(PrintStream out) throws Exception {
    Map<Mode, ProcessWorkerFactory> factories = new EnumMap<>(Mode.class);
    try {
      for (Mode mode : modes) {
        factories.put(mode, new ProcessWorkerFactory(config(mode)));
      }
      for (int round = -warmup; round < rounds; round++) {
        for (int i = 0; i < modes.size(); i++) {
          Mode mode = modes.get(Math.floorMod(round + i, modes.size()));
          long elapsed = spawn(factories.get(mode), mode + "-" + round);
          if (round >= 0) {
            nanos.get(mode)[round] = elapsed;
          }
        }
        Thread.sleep(pauseMillis); // spares are rebuilt meanwhile, as between real cold starts
      }
    } finally {
      factories.values().forEach(ProcessWorkerFactory::close);
    }
    report(out);
  }

  private ProcessWorkerConfig config(Mode mode) {
    List<String> command = new ArrayList<>(List.of(worker.toString(),
        ProcessWorkerConfig.PORT_PLACEHOLDER));
    if (bindAny) {
      command.add("any");
    }
    SandboxConfig.Builder sandbox = SandboxConfig.builder().memory(0).cpus(0).pids(0)
        .namespaces(false).uid(SandboxConfig.UidMode.SHARED).required(true);
    SandboxConfig chosen = switch (mode) {
      case PLAIN -> SandboxConfig.none();
      case ISOLATED_SPARE -> sandbox.network(SandboxConfig.NetworkMode.ISOLATED)
          .networkSpares(2).build();
      case ISOLATED_ON_DEMAND -> sandbox.network(SandboxConfig.NetworkMode.ISOLATED)
          .networkSpares(0).build();
    };
    return ProcessWorkerConfig.builder()
        .command(command)
        .healthPath("/health")
        .startTimeout(Duration.ofSeconds(10))
        .stopTimeout(Duration.ofSeconds(2))
        .sandbox(chosen)
        .build();
  }

  private static long spawn(ProcessWorkerFactory factory, String id) {
    long start = System.nanoTime();
    Worker w = factory.spawn(id).join();
    long elapsed = System.nanoTime() - start;
    w.stop().join();
    return elapsed;
  }

  private void report(PrintStream out) {
    out.printf(Locale.ROOT, "%d rounds (after %d warm-up rounds), %d ms pause, worker bound to"
        + " %s; spawn until healthy, ms%n", rounds, warmup, pauseMillis,
        bindAny ? "0.0.0.0" : "127.0.0.1");
    out.printf(Locale.ROOT, "%-22s %8s %8s %8s %8s %8s%n", "", "min", "median", "p90", "p99",
        "max");
    for (Mode mode : modes) {
      long[] sorted = nanos.get(mode).clone();
      Arrays.sort(sorted);
      out.printf(Locale.ROOT, "%-22s %8.2f %8.2f %8.2f %8.2f %8.2f%n", mode, sorted[0] / 1e6,
          percentile(sorted, 50) / 1e6, percentile(sorted, 90) / 1e6,
          percentile(sorted, 99) / 1e6, sorted[sorted.length - 1] / 1e6);
    }
    if (nanos.containsKey(Mode.PLAIN)) {
      out.println("added by network isolation (median of the mode minus median of PLAIN), ms:");
      long plain = median(Mode.PLAIN);
      for (Mode mode : modes) {
        if (mode != Mode.PLAIN) {
          out.printf(Locale.ROOT, "  %-20s %8.2f%n", mode, (median(mode) - plain) / 1e6);
        }
      }
    }
  }

  private long median(Mode mode) {
    long[] sorted = nanos.get(mode).clone();
    Arrays.sort(sorted);
    return percentile(sorted, 50);
  }

  /** Nearest-rank percentile of sorted values. */
  private static long percentile(long[] sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
