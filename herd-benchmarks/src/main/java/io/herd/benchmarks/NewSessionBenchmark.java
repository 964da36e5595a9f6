package io.herd.benchmarks;

import io.herd.core.PoolConfig;
import io.herd.core.PoolStats;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
 * The pool's own share of a cold start: {@code acquire} of a new key, {@code close} of its lease,
 * {@code end} of the session, with {@link FakeWorker}s that are ready at once. This is the
 * allocator path (singleflight insert, allocator lock, hand-off of an idle worker or a spawn,
 * activation, the acquire deadline and expiry timers, the recycle check) with no process behind
 * it; the cold-start harness ({@code bench/cold-start.sh}) measures the same with real processes.
 *
 * <p>{@code reuse=true}: an ended session's worker passes its (immediate) health check and is
 * handed to the next key, as in a pool with warm workers. {@code reuse=false}: every session
 * spawns a fresh worker and stops it when it ends, as in the cold-start harness.
 *
 * <p>Run (from the repository root):
 *
 * <pre>
 * mvn -B -q -pl herd-benchmarks -am -Pbenchmarks -Dmaven.test.skip=true package
 * java -jar herd-benchmarks/target/benchmarks.jar NewSessionBenchmark -prof gc
 * </pre>
 *
 * <p>On a small shared machine the first dozen iterations still get faster: for steady-state
 * figures add {@code -wi 12} (docs/benchmarks.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class NewSessionBenchmark {

  /** Distinct keys each thread cycles through; each is ended before it comes round again. */
  static final int KEYS_PER_THREAD = 1 << 12;

  @Param({"true", "false"})
  boolean reuse;

  SessionPool pool;

  @Setup(Level.Trial)
  public void startPool() {
    PoolConfig config =
        PoolConfig.builder()
            .name("bench")
            .min(0)
            .warm(reuse ? 2 : 0)
            .max(16)
            .reuse(reuse)
            // Long enough that no live session expires; an ended session's expiry task is
            // cancelled when its end is reported, so the timer queue stays small either way.
            .ttl(Duration.ofSeconds(1))
            .healthInterval(Duration.ofHours(1))
            .build();
    pool = SessionPool.create(config, new FakeWorkerFactory());
  }

  @TearDown(Level.Trial)
  public void closePool() {
    PoolStats stats = pool.stats();
    pool.close();
    if (stats.expirations() != 0 || stats.spawnFailures() != 0) {
      throw new IllegalStateException("sessions expired or spawns failed: " + stats);
    }
  }

  /** One thread's own keys, so that threads never share a session. */
  @State(Scope.Thread)
  public static class ThreadKeys {
    String[] keys;
    int next;

    @Setup(Level.Trial)
    public void makeKeys(ThreadParams thread) {
      keys = new String[KEYS_PER_THREAD];
      for (int i = 0; i < KEYS_PER_THREAD; i++) {
        keys[i] = "t" + thread.getThreadIndex() + "-session-" + i;
      }
    }

    String nextKey() {
      return keys[next++ & (KEYS_PER_THREAD - 1)];
    }
  }

  @Benchmark
  @Threads(1)
  public SessionLease oneThread(ThreadKeys keys) {
    return startAndEnd(keys.nextKey());
  }

  @Benchmark
  @Threads(2)
  public SessionLease twoThreads(ThreadKeys keys) {
    return startAndEnd(keys.nextKey());
  }

  private SessionLease startAndEnd(String key) {
    SessionLease lease = pool.acquire(key).join();
    lease.close();
    pool.end(key);
    return lease;
  }
}
