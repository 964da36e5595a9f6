package io.herd.benchmarks;

import io.herd.core.PoolConfig;
import io.herd.core.PoolStats;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The hot path: {@code acquire(key)} of a session that is already pinned, then {@code close()} of
 * the lease, as a proxy does once per request. 10,000 sessions are pinned to {@link FakeWorker}s
 * before measuring, so no operation starts or ends a session; keys come from arrays precomputed
 * per thread ({@link KeyDistribution}), so the generator is not measured.
 *
 * <p>Scenarios: {@code SINGLE} (every operation on one key: all threads contend on one session),
 * {@code UNIFORM} and {@code ZIPF} (exponent 1) over the 10,000 keys; each with one and two
 * threads. Goal: at most 100 ns/op, and no collapse with two threads.
 *
 * <p>Baselines, on the same keys: {@code mapGet*} looks each up in a plain {@link
 * ConcurrentHashMap} of the same size, the floor of any pool that finds sessions by key; {@code
 * mapGetCount*} also increments and decrements a per-key {@link AtomicInteger}, the floor of any
 * pool that counts the holders of a session (two writes to a per-key cache line). Where both
 * threads write to the same lines, the two-thread figures depend on how far apart the machine's
 * two cores are; {@code mapGetCount*} shows how much of that is the machine's rather than the
 * pool's.
 *
 * <p>Run (from the repository root; {@code -prof gc} reports allocations per operation):
 *
 * <pre>
 * mvn -B -q -pl herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package
 * mkdir -p bench-out
 * java -jar herd-benchmarks/target/benchmarks.jar AcquireCloseBenchmark -prof gc \
 *     -rf json -rff bench-out/acquire-close.json
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class AcquireCloseBenchmark {

  static final int KEYS = 10_000;

  /** Per-thread key sequence length; a power of two, large enough not to fit a branch history. */
  static final int SEQUENCE = 1 << 16;

  @Param({"SINGLE", "UNIFORM", "ZIPF"})
  KeyDistribution distribution;

  SessionPool pool;
  String[] keys;
  ConcurrentHashMap<String, AtomicInteger> map;

  @Setup(Level.Trial)
  public void pinSessions() throws InterruptedException {
    PoolConfig config =
        PoolConfig.builder()
            .name("bench")
            .min(0)
            .warm(0)
            .max(KEYS)
            .maxQueue(KEYS)
            // Nothing may expire or be health-checked while measuring.
            .ttl(Duration.ofHours(1))
            .healthInterval(Duration.ofHours(1))
            .build();
    pool = SessionPool.create(config, new FakeWorkerFactory());
    keys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = "session-" + i;
      pool.acquire(keys[i], Duration.ofSeconds(10)).close();
    }
    map = new ConcurrentHashMap<>();
    for (String key : keys) {
      map.put(key, new AtomicInteger());
    }
    PoolStats stats = pool.stats();
    if (stats.sessions() != KEYS) {
      throw new IllegalStateException("expected " + KEYS + " pinned sessions, got " + stats);
    }
  }

  @TearDown(Level.Trial)
  public void closePool() {
    // Each key must still be on its first worker: a re-spawn would mean a session ended while
    // measuring and the figures include cold paths.
    PoolStats stats = pool.stats();
    pool.close();
    if (stats.spawns() != KEYS || stats.sessions() != KEYS) {
      throw new IllegalStateException("sessions ended during the benchmark: " + stats);
    }
  }

  /** One thread's precomputed walk over the keys. */
  @State(Scope.Thread)
  public static class ThreadKeys {
    String[] sequence;
    int next;

    @Setup(Level.Trial)
    public void sample(AcquireCloseBenchmark bench, ThreadParams thread) {
      int[] indexes =
          bench.distribution.sample(KEYS, SEQUENCE, 0x5EED_0000L + thread.getThreadIndex());
      sequence = new String[SEQUENCE];
      for (int i = 0; i < SEQUENCE; i++) {
        sequence[i] = bench.keys[indexes[i]];
      }
    }

    String nextKey() {
      return sequence[next++ & (SEQUENCE - 1)];
    }
  }

  @Benchmark
  @Threads(1)
  public SessionLease oneThread(ThreadKeys keys) {
    return acquireAndClose(keys.nextKey());
  }

  @Benchmark
  @Threads(2)
  public SessionLease twoThreads(ThreadKeys keys) {
    return acquireAndClose(keys.nextKey());
  }

  @Benchmark
  @Threads(1)
  public Object mapGetOneThread(ThreadKeys keys) {
    return map.get(keys.nextKey());
  }

  @Benchmark
  @Threads(2)
  public Object mapGetTwoThreads(ThreadKeys keys) {
    return map.get(keys.nextKey());
  }

  @Benchmark
  @Threads(1)
  public int mapGetCountOneThread(ThreadKeys keys) {
    return getAndCount(keys.nextKey());
  }

  @Benchmark
  @Threads(2)
  public int mapGetCountTwoThreads(ThreadKeys keys) {
    return getAndCount(keys.nextKey());
  }

  private int getAndCount(String key) {
    AtomicInteger holders = map.get(key);
    holders.incrementAndGet();
    return holders.decrementAndGet();
  }

  private SessionLease acquireAndClose(String key) {
    SessionLease lease = pool.acquire(key).join();
    lease.close();
    return lease;
  }
}
