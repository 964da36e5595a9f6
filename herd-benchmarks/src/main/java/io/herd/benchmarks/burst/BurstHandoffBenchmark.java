package io.herd.benchmarks.burst;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Where a burst hand-off round goes: {@code N} concurrent requests with {@code N} new keys on a
 * pool of {@code max} workers with {@code evictIdleOnPressure} and {@code reuse: false} (every
 * hand-off is a new process), with the real sandbox of {@code --sandbox} (the defaults unless
 * {@code none}; run as root for the full one). Not a JMH benchmark: a burst happens once, and what
 * matters is the latency of each of its requests and where each hand-off spends its time.
 *
 * <p>Each request: {@code pool.acquire(key)}, one {@code GET /} to the leased worker, lease
 * closed; the session then stays pinned and idle until it is evicted for a waiter, as in the
 * gateway. The factory is wrapped to time every worker's life:
 *
 * <pre>
 * victim:      lease closed → evicted (sessionEnded EVICTED) → stop() called → process exited
 *              → onExit() completed (slot free) → sandbox torn down (in the background)
 * replacement: spawn() called (sandbox prepared meanwhile) → may start (the pool's gate opened,
 *              or at once for a spawn with a free slot) → healthy (spawn completed)
 * request:     healthy → lease in hand → response
 * </pre>
 *
 * <p>It also samples, every millisecond, how many worker processes (this JVM's children that are
 * not zombies) exist, and prints the highest count seen, which must not exceed {@code max}.
 * Busy-machine figures are indications only.
 *
 * <p>Run (as root, after {@code mvn -B -pl herd-benchmarks -am -Pbenchmarks
 * -Dmaven.test.skip=true package} and {@code gcc -O2 -o bench-out/coldstart-worker
 * bench/coldstart/worker.c}):
 *
 * <pre>
 * java -cp herd-benchmarks/target/benchmarks.jar io.herd.benchmarks.burst.BurstHandoffBenchmark \
 *     --worker bench-out/coldstart-worker --keys 200 --max 10 [--sandbox none] [--runs 3]
 * </pre>
 */
public final class BurstHandoffBenchmark {

  private static final byte[] REQUEST =
      "GET / HTTP/1.1\r\nHost: worker\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII);

  private final Path worker;
  private final int keys;
  private final int max;
  private final boolean sandboxed;

  /** Per worker id: the instants of its life, in nanoseconds of {@link System#nanoTime()}. */
  private final Map<String, WorkerTimes> workers = new ConcurrentHashMap<>();
  private final AtomicInteger maxLive = new AtomicInteger();

  private BurstHandoffBenchmark(Path worker, int keys, int max, boolean sandboxed) {
    this.worker = worker;
    this.keys = keys;
    this.max = max;
    this.sandboxed = sandboxed;
  }

  /** What is known of one worker's life; -1 until seen. */
  private static final class WorkerTimes {
    volatile long spawnCalled = -1;
    volatile long mayStart = -1;
    volatile long healthy = -1;
    volatile long leaseClosed = -1;
    volatile long evicted = -1;
    volatile long stopCalled = -1;
    volatile long processExited = -1;
    volatile long exitDone = -1;
    volatile long tornDown = -1;
  }

  /** One request of the burst. */
  private record Request(String key, long start, long leased, long answered, String workerId,
      String error) {}

  public static void main(String[] args) throws Exception {
    Path worker = null;
    int keys = 200;
    int max = 10;
    int runs = 1;
    boolean sandboxed = true;
    for (int i = 0; i < args.length; i += 2) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null) {
        throw new IllegalArgumentException(args[i] + " is missing its value");
      }
      switch (args[i]) {
        case "--worker" -> worker = Path.of(value);
        case "--keys" -> keys = Integer.parseInt(value);
        case "--max" -> max = Integer.parseInt(value);
        case "--runs" -> runs = Integer.parseInt(value);
        case "--sandbox" -> sandboxed = switch (value) {
          case "none" -> false;
          case "defaults" -> true;
          default -> throw new IllegalArgumentException("--sandbox is none or defaults");
        };
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]
            + " (expected: --worker PATH [--keys N] [--max N] [--runs N]"
            + " [--sandbox none|defaults])");
      }
    }
    if (worker == null || !Files.isExecutable(worker)) {
      throw new IllegalArgumentException("--worker is not an executable file: " + worker
          + " (expected: the binary built from bench/coldstart/worker.c)");
    }
    for (int run = 1; run <= runs; run++) {
      System.out.printf(Locale.ROOT, "# run %d of %d: %d keys, max %d, sandbox %s, load %s%n",
          run, runs, keys, max, sandboxed ? "defaults" : "none", loadAverage());
      new BurstHandoffBenchmark(worker.toAbsolutePath(), keys, max, sandboxed).run(System.out);
    }
  }

  private void run(PrintStream out) throws Exception {
    ProcessWorkerConfig workerConfig =
        ProcessWorkerConfig.builder()
            .command(worker.toString(), ProcessWorkerConfig.PORT_PLACEHOLDER)
            .healthPath("/health")
            .startTimeout(Duration.ofSeconds(10))
            .stopTimeout(Duration.ofSeconds(2))
            .sandbox(sandboxed ? SandboxConfig.defaults() : SandboxConfig.none())
            .build();
    PoolConfig poolConfig =
        PoolConfig.builder()
            .name("burst")
            .min(0)
            .warm(0)
            .max(max)
            .maxQueue(keys)
            .reuse(false)
            .evictIdleOnPressure(true)
            .acquireTimeout(Duration.ofSeconds(60))
            .healthInterval(Duration.ofHours(1))
            .build();
    List<Request> requests = new ArrayList<>();
    try (ProcessWorkerFactory processes = new ProcessWorkerFactory(workerConfig);
        SessionPool pool = SessionPool.create(poolConfig, new TracingFactory(processes))) {
      pool.addListener(new PoolListener() {
        @Override
        public void sessionEnded(String key, Worker w, SessionEndReason reason) {
          if (reason == SessionEndReason.EVICTED) {
            times(w.id()).evicted = System.nanoTime();
          }
        }
      });
      warmUp(pool);
      workers.clear();
      AtomicBoolean sampling = new AtomicBoolean(true);
      Thread sampler = new Thread(() -> {
        while (sampling.get()) {
          long n = ProcessHandle.current().children()
              .filter(c -> c.info().command().isPresent()).count(); // zombies have none
          maxLive.accumulateAndGet((int) n, Math::max);
          LockSupport.parkNanos(1_000_000);
        }
      }, "burst-process-sampler");
      sampler.setDaemon(true);
      sampler.start();
      ExecutorService clients = Executors.newFixedThreadPool(keys);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Request>> futures = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
          String key = "burst-" + i;
          futures.add(clients.submit(() -> {
            go.await();
            return request(pool, key);
          }));
        }
        go.countDown();
        for (Future<Request> f : futures) {
          requests.add(f.get(120, TimeUnit.SECONDS));
        }
      } finally {
        clients.shutdownNow();
        sampling.set(false);
        sampler.join();
      }
    }
    report(out, requests);
  }

  /** One cold start and its eviction, so that class loading and the JIT's first pass are done. */
  private void warmUp(SessionPool pool) throws Exception {
    for (int i = 0; i < 3; i++) {
      request(pool, "warm-" + i);
      pool.end("warm-" + i);
    }
  }

  private Request request(SessionPool pool, String key) {
    long start = System.nanoTime();
    try (SessionLease lease = pool.acquire(key, Duration.ofSeconds(60))) {
      long leased = System.nanoTime();
      String id = lease.worker().id();
      get(lease.worker().address());
      long answered = System.nanoTime();
      times(id).leaseClosed = System.nanoTime();
      return new Request(key, start, leased, answered, id, null);
    } catch (Exception e) {
      return new Request(key, start, -1, System.nanoTime(), null, e.toString());
    }
  }

  private static void get(URI address) throws IOException {
    try (Socket s = new Socket()) {
      s.setSoTimeout(10_000);
      s.connect(new InetSocketAddress(address.getHost(), address.getPort()), 10_000);
      OutputStream o = s.getOutputStream();
      o.write(REQUEST);
      o.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[512];
      while (in.read(buf) >= 0) {
        // read the whole answer: the worker closes after it
      }
    }
  }

  private WorkerTimes times(String id) {
    return workers.computeIfAbsent(id, k -> new WorkerTimes());
  }

  // ---------------------------------------------------------------- the traced factory

  /** Times each spawn and wraps each worker to time its stop. */
  private final class TracingFactory implements WorkerFactory {
    private final ProcessWorkerFactory inner;

    TracingFactory(ProcessWorkerFactory inner) {
      this.inner = inner;
    }

    @Override
    public CompletableFuture<Worker> spawn(String workerId) {
      return spawn(workerId, CompletableFuture.completedFuture(null));
    }

    @Override
    public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
      WorkerTimes t = times(workerId);
      t.spawnCalled = System.nanoTime();
      mayStart.thenRun(() -> t.mayStart = System.nanoTime());
      return inner.spawn(workerId, mayStart).thenApply(w -> {
        t.healthy = System.nanoTime();
        ProcessWorker process = (ProcessWorker) w;
        ProcessHandle.of(w.pid().orElseThrow()).ifPresentOrElse(
            h -> h.onExit().thenRun(() -> t.processExited = System.nanoTime()),
            () -> t.processExited = System.nanoTime());
        w.onExit().thenRun(() -> t.exitDone = System.nanoTime());
        process.sandbox().released().thenRun(() -> t.tornDown = System.nanoTime());
        return new TracedWorker(process, t);
      });
    }
  }

  /** A worker whose stop is timed; everything else is the process worker's. */
  private static final class TracedWorker implements Worker {
    private final ProcessWorker inner;
    private final WorkerTimes times;

    TracedWorker(ProcessWorker inner, WorkerTimes times) {
      this.inner = inner;
      this.times = times;
    }

    @Override
    public String id() {
      return inner.id();
    }

    @Override
    public URI address() {
      return inner.address();
    }

    @Override
    public OptionalLong pid() {
      return inner.pid();
    }

    @Override
    public CompletableFuture<Boolean> checkHealth(Duration timeout) {
      return inner.checkHealth(timeout);
    }

    @Override
    public CompletableFuture<WorkerExit> onExit() {
      return inner.onExit();
    }

    @Override
    public CompletableFuture<WorkerExit> stop() {
      if (times.stopCalled < 0) {
        times.stopCalled = System.nanoTime();
      }
      return inner.stop();
    }

    @Override
    public CompletableFuture<WorkerExit> kill() {
      return inner.kill();
    }
  }

  // ---------------------------------------------------------------- report

  private void report(PrintStream out, List<Request> requests) {
    long failed = requests.stream().filter(r -> r.error() != null).count();
    long[] latency = requests.stream().filter(r -> r.error() == null)
        .mapToLong(r -> r.answered() - r.start()).sorted().toArray();
    out.printf(Locale.ROOT, "requests: %d answered, %d failed; live worker processes at most %d"
        + " (max %d)%n", latency.length, failed, maxLive.get(), max);
    requests.stream().filter(r -> r.error() != null).limit(3)
        .forEach(r -> out.println("  failed " + r.key() + ": " + r.error()));
    out.printf(Locale.ROOT, "latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f%n",
        ms(pct(latency, 50)), ms(pct(latency, 90)), ms(pct(latency, 99)), ms(pct(latency, 100)));
    long burstStart = requests.stream().mapToLong(Request::start).min().orElse(0);
    long burstEnd = requests.stream().mapToLong(Request::answered).max().orElse(0);
    out.printf(Locale.ROOT, "burst took %.1f ms%n", ms(burstEnd - burstStart));

    List<WorkerTimes> all = new ArrayList<>(workers.values());
    out.println("phase (ms, over the hand-offs of the burst)       n    p50    p90    max");
    phase(out, "victim: lease closed -> evicted", all, t -> t.leaseClosed, t -> t.evicted);
    phase(out, "victim: evicted -> stop() called", all, t -> t.evicted, t -> t.stopCalled);
    phase(out, "victim: stop() -> process exited", all, t -> t.stopCalled, t -> t.processExited);
    phase(out, "victim: process exited -> onExit (slot free)", all,
        t -> t.processExited, t -> t.exitDone);
    phase(out, "victim: process exited -> sandbox torn down", all,
        t -> t.processExited, t -> t.tornDown);
    long[] exits = all.stream().mapToLong(t -> t.exitDone).filter(x -> x >= 0).sorted().toArray();
    long[] stops = all.stream().mapToLong(t -> t.stopCalled).filter(x -> x >= 0).sorted()
        .toArray();
    List<Long> afterExit = new ArrayList<>();
    List<Long> afterStop = new ArrayList<>();
    for (WorkerTimes t : all) {
      if (t.spawnCalled < 0) {
        continue;
      }
      long lastExit = latestBefore(exits, t.spawnCalled);
      if (lastExit >= 0) {
        afterExit.add(t.spawnCalled - lastExit);
      }
      long lastStop = latestBefore(stops, t.spawnCalled);
      if (lastStop >= 0) {
        afterStop.add(t.spawnCalled - lastStop);
      }
    }
    phase(out, "last slot freed -> spawn() called", afterExit);
    phase(out, "last stop() -> spawn() called", afterStop);
    List<Long> admitted = new ArrayList<>();
    for (WorkerTimes t : all) {
      long lastExit = t.mayStart < 0 ? -1 : latestBefore(exits, t.mayStart);
      if (lastExit >= 0) {
        admitted.add(t.mayStart - lastExit);
      }
    }
    phase(out, "last slot freed -> may start", admitted);
    phase(out, "replacement: spawn() -> may start", all, t -> t.spawnCalled, t -> t.mayStart);
    phase(out, "replacement: may start -> healthy", all, t -> t.mayStart, t -> t.healthy);
    List<Long> toLease = new ArrayList<>();
    List<Long> toAnswer = new ArrayList<>();
    for (Request r : requests) {
      WorkerTimes t = r.workerId() == null ? null : workers.get(r.workerId());
      if (t != null && t.healthy >= 0) {
        toLease.add(r.leased() - t.healthy);
        toAnswer.add(r.answered() - r.leased());
      }
    }
    phase(out, "request: healthy -> lease in hand", toLease);
    phase(out, "request: lease -> response", toAnswer);
  }

  private static long latestBefore(long[] sorted, long instant) {
    long best = -1;
    for (long x : sorted) {
      if (x <= instant) {
        best = x;
      }
    }
    return best;
  }

  private interface Instant {
    long of(WorkerTimes t);
  }

  private static void phase(PrintStream out, String name, List<WorkerTimes> all, Instant from,
      Instant to) {
    List<Long> spans = new ArrayList<>();
    for (WorkerTimes t : all) {
      long a = from.of(t);
      long b = to.of(t);
      if (a >= 0 && b >= 0) {
        spans.add(b - a);
      }
    }
    phase(out, name, spans);
  }

  private static void phase(PrintStream out, String name, List<Long> spans) {
    long[] sorted = spans.stream().mapToLong(Long::longValue).sorted().toArray();
    out.printf(Locale.ROOT, "  %-48s %4d %6.1f %6.1f %6.1f%n", name, sorted.length,
        ms(pct(sorted, 50)), ms(pct(sorted, 90)), ms(pct(sorted, 100)));
  }

  private static long pct(long[] sorted, int p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return String.join(" ", Arrays.copyOf(parts, 3));
    } catch (IOException e) {
      return "?";
    }
  }
}
