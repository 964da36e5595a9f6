package io.herd.benchmarks.goals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Goal 3 of issue 9: a burst of {@code --count} concurrent requests, each with a session key
 * never used before, released at once by a start gate ({@code GET /health} on fresh
 * connections). Reports per run p50, p99 and max from the gate to each response's end, how many
 * got 200, and — when {@code --comm} names the worker's command — the most worker processes
 * seen alive at once while the burst ran (sampled from {@code /proc} every millisecond or so:
 * a scan takes a few, and a worker's start or stop takes longer), against
 * {@code --cap}. Goal: p99 ≤ 250 ms, every request answered 200, never more than the cap alive.
 * Without {@code --goal} a run is context (nginx), reported without a verdict.
 *
 * <p>Run by {@code bench/pool-goals.sh burst}; directly: {@code java -cp benchmarks.jar
 * io.herd.benchmarks.goals.BurstGoal --port PORT --count 200 --runs 3 --comm pool-hworker
 * --cap 10 --label herd --goal 250}.
 */
public final class BurstGoal {

  private BurstGoal() {}

  public static void main(String[] args) throws Exception {
    Flags flags = Flags.parse(args, "--port", "--count", "--runs", "--comm", "--cap", "--label",
        "--goal", "--pause");
    int port = Integer.parseInt(flags.required("--port"));
    int count = flags.integer("--count", 200);
    int runs = flags.integer("--runs", 3);
    String comm = flags.string("--comm", null);
    int cap = flags.integer("--cap", 10);
    String label = flags.string("--label", "herd");
    int goal = flags.integer("--goal", 0);
    int pause = flags.integer("--pause", 1000);
    ProcessCounter workers = comm == null ? null : new ProcessCounter(comm);
    String run = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    System.out.println("target\trun\tanswered_200\tp50_ms\tp99_ms\tmax_ms\tmax_live_workers");
    List<Double> p99s = new ArrayList<>();
    boolean allAnswered = true;
    int mostAlive = 0;
    for (int r = 1; r <= runs; r++) {
      Thread.sleep(pause);
      Burst burst = burst(port, count, "burst-" + run + "-" + r + "-", workers);
      Percentiles p = Percentiles.of(burst.millis);
      p99s.add(p.at(99));
      allAnswered &= burst.ok == count;
      mostAlive = Math.max(mostAlive, burst.mostAlive);
      System.out.println(label + "\t" + r + "\t" + burst.ok + "/" + count + "\t"
          + Percentiles.ms(p.at(50)) + "\t" + Percentiles.ms(p.at(99)) + "\t"
          + Percentiles.ms(p.max()) + "\t" + (workers == null ? "-" : burst.mostAlive));
    }
    Percentiles overRuns = Percentiles.of(p99s);
    String figure = "p99 " + Percentiles.ms(overRuns.at(50)) + " ms (median of " + runs
        + " runs; worst " + Percentiles.ms(overRuns.max()) + "), "
        + (allAnswered ? "all" : "NOT all") + " answered"
        + (workers == null ? "" : ", most workers alive " + mostAlive + " (cap " + cap + ")");
    if (goal > 0) {
      Summary.print("burst " + count + " new keys: p99 ≤ " + goal + " ms, max bounds workers",
          figure,
          overRuns.max() <= goal && allAnswered && (workers == null || mostAlive <= cap));
    } else {
      Summary.print("burst " + count + " new keys, " + label + " (context)", figure, null);
    }
  }

  private record Burst(double[] millis, int ok, int mostAlive) {}

  private static Burst burst(int port, int count, String prefix, ProcessCounter workers)
      throws InterruptedException {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(count);
    double[] millis = new double[count];
    AtomicIntegerArray status = new AtomicIntegerArray(count);
    long[] start = new long[1];
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int index = i;
      Thread t = new Thread(() -> {
        try {
          gate.await();
          status.set(index, OneShotHttp.get(port, "/health", prefix + index));
          millis[index] = (System.nanoTime() - start[0]) / 1e6;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          done.countDown();
        }
      }, "burst-" + i);
      threads.add(t);
      t.start();
    }
    AtomicBoolean sampling = new AtomicBoolean(true);
    AtomicInteger mostAlive = new AtomicInteger();
    Thread sampler = new Thread(() -> {
      while (sampling.get() && workers != null) {
        mostAlive.accumulateAndGet(workers.count(), Math::max);
        try {
          Thread.sleep(1); // a scan is a few ms of CPU the gateway would otherwise lose
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }, "burst-sampler");
    sampler.start();
    Thread.sleep(100); // every client thread parked at the gate
    start[0] = System.nanoTime();
    gate.countDown();
    if (!done.await(120, TimeUnit.SECONDS)) {
      System.out.println("# the burst did not finish within 120 s");
    }
    Thread.sleep(200); // workers stopping after the last answer still count
    sampling.set(false);
    sampler.join();
    for (Thread t : threads) {
      t.join(1000);
    }
    int ok = 0;
    for (int i = 0; i < count; i++) {
      if (status.get(i) == 200) {
        ok++;
      } else {
        millis[i] = Double.NaN;
      }
    }
    return new Burst(millis, ok, mostAlive.get());
  }
}
