package io.herd.benchmarks.coldstart;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.process.JvmLaunchMechanism;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.LauncherBinary;
import io.herd.core.sandbox.SandboxConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Cold-start overhead: how much longer {@code pool.acquire(newKey)} takes to hand out a lease than
 * the worker itself takes from {@code fork} to its first healthy answer. Not a JMH benchmark: a
 * cold start is a few milliseconds of mostly waiting, and what matters is its distribution.
 *
 * <p>Each round runs these, in an order that rotates from round to round, so that a noisy
 * neighbour hits them alike:
 *
 * <ul>
 *   <li>{@link Mode#DIRECT}, the baseline: {@link ProcessBuilder#start()} of the worker, then
 *       {@code GET /health} in a tight loop (no sleep) until 200: the fastest anyone can learn
 *       that this worker is ready.
 *   <li>{@link Mode#SETPRIV}: the same, started through {@code setpriv --pdeathsig KILL} as the
 *       factory starts workers on Linux, to show what that wrapper costs (when setpriv exists).
 *   <li>{@link Mode#LEGACY_CHAIN} (as root, with util-linux): the same, started through the
 *       exec chain that Herd used before {@code herd-launch}, with PID/IPC/mount namespaces and a
 *       UID of its own: {@code setpriv --pdeathsig KILL -- sh -c 'exec "$@"' -- unshare --pid
 *       --fork --kill-child --mount-proc --ipc --mount -- setpriv --reuid U --regid U
 *       --clear-groups --no-new-privs --pdeathsig KILL -- worker} (the {@code sh} step stood for
 *       the cgroup join, without cgroups here).
 *   <li>{@link Mode#LAUNCHER} (as root): the same protections through {@code herd-launch --setsid
 *       --parent JVM --namespaces --tmp DIR --uid U --gid U --drop-caps --no-new-privs --
 *       worker}, as the factory starts workers now (plus a private /tmp and /dev/shm).
 *   <li>{@link Mode#FACTORY}: {@link ProcessWorkerFactory#spawn} alone, no pool, with the sandbox
 *       of {@code --sandbox} ({@code none}, the default, or {@code defaults}).
 *   <li>{@link Mode#POOL}: {@code pool.acquire(newKey)} on a pool with {@code min=0, warm=0,
 *       reuse=false}, so every acquire spawns; timed until the lease is in hand. The session is
 *       then ended and its worker awaited before the next round.
 *   <li>{@link Mode#FIRST_REQUEST} and {@link Mode#NEXT_REQUEST}, measured in the POOL round
 *       right after the lease: a {@code GET /health} to the new worker over a new connection (the
 *       first request after the readiness probe, what a gateway's first proxied request pays
 *       beyond its own work), then a second one the same way.
 * </ul>
 *
 * <p>The sandbox of FACTORY and POOL is the default one ({@code --sandbox defaults}, the default
 * here): as root, PID/IPC/mount namespaces, a leased UID, cgroup limits (a spare cgroup made
 * ahead), a private /tmp, and network isolation with a spare network where the host has nftables.
 * The breakdown the report prints: the launch chain is LAUNCHER − DIRECT (herd-launch with
 * namespaces and a UID, no cgroup or network), the factory's own share (sandbox preparation,
 * the readiness detection, thread hand-offs) FACTORY − LAUNCHER, the pool's POOL − FACTORY.
 *
 * <p>The benchmark starts processes by vfork, as the {@code herd} executable does ({@link
 * JvmLaunchMechanism}); pass {@code -Djdk.lang.Process.launchMechanism=POSIX_SPAWN} to time the
 * JDK's default.
 *
 * <p>Each timed span excludes stopping the worker; the next round starts only after the previous
 * worker has exited. The first {@code --warmup} rounds are run but not counted (JIT, class
 * loading); the first round of the JVM is printed separately.
 *
 * <p>Run: {@code bench/cold-start.sh} (compiles the worker, builds the jar, runs this). Directly:
 *
 * <pre>
 * java -cp herd-benchmarks/target/benchmarks.jar io.herd.benchmarks.coldstart.ColdStartBenchmark \
 *     --worker bench-out/coldstart-worker --rounds 200 --warmup 20 --csv bench-out/cold-start.csv
 * </pre>
 */
public final class ColdStartBenchmark {

  /** What one timed span covers; see the class comment. */
  enum Mode {
    DIRECT,
    SETPRIV,
    LEGACY_CHAIN,
    LAUNCHER,
    FACTORY,
    POOL,
    FIRST_REQUEST,
    NEXT_REQUEST
  }

  /** The UID the chain modes run the worker under; outside the default lease range's use. */
  private static final int BENCH_UID = 209_999;

  private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
  private static final byte[] HEALTH_REQUEST =
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII);

  private final Path worker;
  private final int rounds;
  private final int warmup;
  private final boolean setprivAvailable;
  private final boolean chainsAvailable;
  private final boolean sandboxed;
  private final Path launcher;
  private final Path scratch;
  private final Map<Mode, long[]> nanos = new EnumMap<>(Mode.class);
  /** Each mode's figure in the first (warm-up) round of this JVM. */
  private final Map<Mode, Long> first = new EnumMap<>(Mode.class);

  private ColdStartBenchmark(Path worker, int rounds, int warmup, boolean sandboxed)
      throws IOException {
    this.worker = worker;
    this.rounds = rounds;
    this.warmup = warmup;
    this.sandboxed = sandboxed;
    this.setprivAvailable = Files.isExecutable(SETPRIV);
    this.launcher = LauncherBinary.detect().path().orElse(null);
    boolean root = ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    this.chainsAvailable = root && setprivAvailable && launcher != null
        && Files.isExecutable(Path.of("/usr/bin/unshare"));
    if (chainsAvailable) {
      scratch = Files.createTempDirectory(Path.of("/var/lib"),
          "herd-bench-");
      Path tmp = Files.createDirectory(scratch.resolve("tmp"));
      for (Path p : List.of(tmp, scratch)) {
        Files.setAttribute(p, "unix:gid", BENCH_UID);
        Files.setAttribute(p, "unix:uid", BENCH_UID);
      }
    } else {
      scratch = null;
    }
    for (Mode mode : Mode.values()) {
      nanos.put(mode, new long[rounds]);
    }
  }

  public static void main(String[] args) throws Exception {
    String mechanism = JvmLaunchMechanism.preferVfork(); // before the first process starts
    Path worker = null;
    int rounds = 200;
    int warmup = 20;
    Path csv = null;
    boolean sandboxed = true;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--worker" -> worker = Path.of(require(args[i], value));
        case "--rounds" -> rounds = Integer.parseInt(require(args[i], value));
        case "--warmup" -> warmup = Integer.parseInt(require(args[i], value));
        case "--csv" -> csv = Path.of(require(args[i], value));
        case "--sandbox" -> sandboxed = switch (require(args[i], value)) {
          case "none" -> false;
          case "defaults" -> true;
          default -> throw new IllegalArgumentException("--sandbox is none or defaults");
        };
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]
            + " (expected: --worker PATH [--rounds N] [--warmup N] [--csv PATH]"
            + " [--sandbox none|defaults])");
      }
      i++;
    }
    if (worker == null || !Files.isExecutable(worker)) {
      throw new IllegalArgumentException("--worker is not an executable file: " + worker
          + " (expected: the binary built from bench/coldstart/worker.c)");
    }
    ColdStartBenchmark bench =
        new ColdStartBenchmark(worker.toAbsolutePath(), rounds, warmup, sandboxed);
    try {
      bench.run();
    } finally {
      bench.removeScratch();
    }
    System.out.println("process launch mechanism: " + mechanism + "; sandbox of FACTORY and POOL: "
        + (sandboxed ? "defaults" : "none"));
    bench.report(System.out);
    if (csv != null) {
      bench.writeCsv(csv);
    }
  }

  private static String require(String flag, String value) {
    if (value == null) {
      throw new IllegalArgumentException(flag + " is missing its value");
    }
    return value;
  }

  private void run() throws Exception {
    ProcessWorkerConfig workerConfig =
        ProcessWorkerConfig.builder()
            .command(worker.toString(), ProcessWorkerConfig.PORT_PLACEHOLDER)
            .healthPath("/health")
            .startTimeout(Duration.ofSeconds(5))
            .stopTimeout(Duration.ofSeconds(2))
            .sandbox(sandboxed ? SandboxConfig.defaults() : SandboxConfig.none())
            .build();
    PoolConfig poolConfig =
        PoolConfig.builder()
            .name("coldstart")
            .min(0)
            .warm(0)
            .max(1)
            .reuse(false)
            .acquireTimeout(Duration.ofSeconds(10))
            .healthInterval(Duration.ofHours(1))
            .build();
    try (ProcessWorkerFactory factory = new ProcessWorkerFactory(workerConfig);
        SessionPool pool = SessionPool.create(poolConfig, factory)) {
      Mode[] modes = {Mode.POOL, Mode.FACTORY, Mode.LAUNCHER, Mode.LEGACY_CHAIN, Mode.SETPRIV,
          Mode.DIRECT};
      for (int round = -warmup; round < rounds; round++) {
        // The order rotates so that no mode always follows the same one; the first round starts
        // with POOL, so its figure is what the first request to a fresh gateway would see.
        for (int i = 0; i < modes.length; i++) {
          Mode mode = modes[Math.floorMod(round + warmup + i, modes.length)];
          long elapsed = time(mode, factory, pool, round);
          if (round == -warmup) {
            first.put(mode, elapsed);
          }
          if (round >= 0) {
            nanos.get(mode)[round] = elapsed;
          }
        }
      }
    }
  }

  private long time(Mode mode, ProcessWorkerFactory factory, SessionPool pool, int round)
      throws Exception {
    return switch (mode) {
      case DIRECT -> direct(List.of(worker.toString()));
      case SETPRIV ->
          setprivAvailable
              ? direct(List.of(SETPRIV.toString(), "--pdeathsig", "KILL", "--", worker.toString()))
              : -1;
      case LEGACY_CHAIN -> chainsAvailable ? direct(legacyChain()) : -1;
      case LAUNCHER -> chainsAvailable ? direct(launcherChain()) : -1;
      case FACTORY -> factory(factory, round);
      case POOL -> pool(pool, "cold-" + round, round);
      case FIRST_REQUEST, NEXT_REQUEST -> 0; // measured by the POOL round
    };
  }

  private List<String> legacyChain() {
    String uid = Integer.toString(BENCH_UID);
    return List.of(SETPRIV.toString(), "--pdeathsig", "KILL", "--",
        "/bin/sh", "-c", "exec \"$@\"", "herd-sandbox",
        "/usr/bin/unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--mount",
        "--", SETPRIV.toString(), "--reuid=" + uid, "--regid=" + uid, "--clear-groups",
        "--no-new-privs", "--pdeathsig", "KILL", "--", worker.toString());
  }

  private List<String> launcherChain() {
    String uid = Integer.toString(BENCH_UID);
    return List.of(launcher.toString(), "--setsid", "--parent",
        Long.toString(ProcessHandle.current().pid()), "--namespaces", "--tmp",
        scratch.resolve("tmp").toString(), "--uid", uid, "--gid", uid, "--drop-caps",
        "--no-new-privs", "--", worker.toString());
  }

  private void removeScratch() throws IOException {
    if (scratch != null) {
      Files.deleteIfExists(scratch.resolve("tmp"));
      Files.deleteIfExists(scratch);
    }
  }

  /** Baseline: start the process, poll its health with no pause, until 200. */
  private static long direct(List<String> launcher) throws Exception {
    int port = freePort();
    List<String> argv = new ArrayList<>(launcher);
    argv.add(Integer.toString(port));
    ProcessBuilder builder =
        new ProcessBuilder(argv)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    long start = System.nanoTime();
    Process process = builder.start();
    try {
      while (!healthy(port)) {
        if (!process.isAlive()) {
          throw new IllegalStateException("worker exited with " + process.exitValue());
        }
        if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(5)) {
          throw new IllegalStateException("worker not healthy within 5 s: " + argv);
        }
      }
      return System.nanoTime() - start;
    } finally {
      // SIGKILL: the legacy chain's unshare blocks SIGTERM. Then wait for the whole tree.
      List<ProcessHandle> tree = process.descendants().toList();
      process.destroyForcibly();
      process.waitFor();
      for (ProcessHandle p : tree) {
        p.destroyForcibly();
        p.onExit().join();
      }
    }
  }

  private static long factory(ProcessWorkerFactory factory, int round) {
    long start = System.nanoTime();
    Worker w = factory.spawn("bench-" + round).join();
    long elapsed = System.nanoTime() - start;
    w.stop().join();
    return elapsed;
  }

  private long pool(SessionPool pool, String key, int round) throws IOException {
    long start = System.nanoTime();
    SessionLease lease = pool.acquire(key).join();
    long elapsed = System.nanoTime() - start;
    if (!lease.newSession()) {
      throw new IllegalStateException("session " + key + " was not new: " + lease);
    }
    Worker w = lease.worker();
    InetAddress host = InetAddress.getByName(w.address().getHost());
    long first = timedRequest(host, w.address().getPort());
    long next = timedRequest(host, w.address().getPort());
    if (round == -warmup) {
      this.first.put(Mode.FIRST_REQUEST, first);
      this.first.put(Mode.NEXT_REQUEST, next);
    }
    if (round >= 0) {
      nanos.get(Mode.FIRST_REQUEST)[round] = first;
      nanos.get(Mode.NEXT_REQUEST)[round] = next;
    }
    lease.close();
    pool.end(key);
    w.onExit().join();
    return elapsed;
  }

  /** One {@code GET /health} over a new connection, which must answer 200; its duration. */
  private static long timedRequest(InetAddress host, int port) {
    long start = System.nanoTime();
    if (!healthy(host, port)) {
      throw new IllegalStateException("the new worker did not answer 200 at " + host + ":" + port);
    }
    return System.nanoTime() - start;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** One blocking {@code GET /health} on 127.0.0.1; false while the port refuses connections. */
  private static boolean healthy(int port) {
    return healthy(InetAddress.getLoopbackAddress(), port);
  }

  /** One blocking {@code GET /health}; false while the port refuses connections. */
  private static boolean healthy(InetAddress host, int port) {
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port));
      OutputStream out = socket.getOutputStream();
      out.write(HEALTH_REQUEST);
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] head = in.readNBytes(12); // "HTTP/1.1 200"
      return new String(head, StandardCharsets.US_ASCII).endsWith(" 200");
    } catch (ConnectException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------- report

  private void report(PrintStream out) {
    out.printf(Locale.ROOT, "%d rounds (after %d warm-up rounds), times in ms%n", rounds, warmup);
    out.printf(Locale.ROOT, "%-34s %8s %8s %8s %8s %8s%n", "", "min", "median", "p90", "p99",
        "max");
    for (Mode mode : Mode.values()) {
      if (!shown(mode)) {
        continue;
      }
      row(out, label(mode), sorted(nanos.get(mode)));
    }
    out.println("overhead over DIRECT (percentile of the pool minus percentile of the baseline):");
    differenceRow(out, "POOL - DIRECT", Mode.POOL, Mode.DIRECT);
    differenceRow(out, "FACTORY - DIRECT", Mode.FACTORY, Mode.DIRECT);
    differenceRow(out, "POOL - FACTORY", Mode.POOL, Mode.FACTORY);
    if (chainsAvailable) {
      out.println("breakdown (difference of percentiles): launch chain, factory, pool, request:");
      differenceRow(out, "launch chain: LAUNCHER - DIRECT", Mode.LAUNCHER, Mode.DIRECT);
      differenceRow(out, "factory: FACTORY - LAUNCHER", Mode.FACTORY, Mode.LAUNCHER);
      differenceRow(out, "pool: POOL - FACTORY", Mode.POOL, Mode.FACTORY);
    }
    differenceRow(out, "first request: FIRST - NEXT", Mode.FIRST_REQUEST, Mode.NEXT_REQUEST);
    if (setprivAvailable) {
      differenceRow(out, "SETPRIV - DIRECT", Mode.SETPRIV, Mode.DIRECT);
      differenceRow(out, "FACTORY - SETPRIV", Mode.FACTORY, Mode.SETPRIV);
    }
    if (chainsAvailable) {
      differenceRow(out, "LEGACY_CHAIN - DIRECT", Mode.LEGACY_CHAIN, Mode.DIRECT);
      differenceRow(out, "LAUNCHER - LEGACY_CHAIN", Mode.LAUNCHER, Mode.LEGACY_CHAIN);
    }
    out.println("overhead per round (POOL - DIRECT of the same round):");
    long[] paired = new long[rounds];
    for (int i = 0; i < rounds; i++) {
      paired[i] = nanos.get(Mode.POOL)[i] - nanos.get(Mode.DIRECT)[i];
    }
    row(out, "paired POOL - DIRECT", sorted(paired));
    out.print("first round of this JVM (not counted above), ms:");
    for (Mode mode : Mode.values()) {
      if (shown(mode)) {
        out.printf(Locale.ROOT, " %s %.2f", mode, first.get(mode) / 1e6);
      }
    }
    out.println();
  }

  private boolean shown(Mode mode) {
    return switch (mode) {
      case SETPRIV -> setprivAvailable;
      case LEGACY_CHAIN, LAUNCHER -> chainsAvailable;
      default -> true;
    };
  }

  private String label(Mode mode) {
    return switch (mode) {
      case DIRECT -> "DIRECT  (start + tight poll)";
      case SETPRIV -> "SETPRIV (same, via setpriv)";
      case LEGACY_CHAIN -> "LEGACY_CHAIN (util-linux, ns+uid)";
      case LAUNCHER -> "LAUNCHER (herd-launch, ns+uid)";
      case FACTORY -> "FACTORY (factory.spawn, " + (sandboxed ? "defaults)" : "none)");
      case POOL -> "POOL    (pool.acquire(newKey))";
      case FIRST_REQUEST -> "FIRST_REQUEST (new worker, new conn)";
      case NEXT_REQUEST -> "NEXT_REQUEST (same worker, new conn)";
    };
  }

  private static long[] sorted(long[] values) {
    long[] copy = values.clone();
    Arrays.sort(copy);
    return copy;
  }

  private void differenceRow(PrintStream out, String label, Mode a, Mode b) {
    long[] x = sorted(nanos.get(a));
    long[] y = sorted(nanos.get(b));
    out.printf(Locale.ROOT, "%-34s %8s %8.2f %8.2f %8.2f%n", label, "",
        (percentile(x, 50) - percentile(y, 50)) / 1e6,
        (percentile(x, 90) - percentile(y, 90)) / 1e6,
        (percentile(x, 99) - percentile(y, 99)) / 1e6);
  }

  private static void row(PrintStream out, String label, long[] sorted) {
    out.printf(Locale.ROOT, "%-34s %8.2f %8.2f %8.2f %8.2f %8.2f%n", label, sorted[0] / 1e6,
        percentile(sorted, 50) / 1e6, percentile(sorted, 90) / 1e6,
        percentile(sorted, 99) / 1e6, sorted[sorted.length - 1] / 1e6);
  }

  /** Nearest-rank percentile of sorted values. */
  private static long percentile(long[] sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private void writeCsv(Path csv) throws IOException {
    StringBuilder text = new StringBuilder(
        "round,direct_ns,setpriv_ns,legacy_chain_ns,launcher_ns,factory_ns,pool_ns,"
            + "first_request_ns,next_request_ns\n");
    for (int i = 0; i < rounds; i++) {
      text.append(i);
      for (Mode mode : Mode.values()) {
        text.append(',').append(nanos.get(mode)[i]);
      }
      text.append('\n');
    }
    Path parent = csv.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(csv, text);
  }
}
