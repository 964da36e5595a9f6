package io.herd.benchmarks.goals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Goal 2 of issue 9, second half: with warm spares ({@code pool.warm: N}) a new session should
 * cost no more than a pinned one. Open-loop load against a real gateway, one step per rate:
 *
 * <ul>
 *   <li>new sessions: {@code GET /health} with a key never used before at a fixed rate (each
 *       session is ended through the admin API right after its answer, untimed, so its worker is
 *       stopped and a spare is started in its place, as in a steady stream of short sessions);
 *   <li>pinned: at the same time {@code GET /health} of one session whose worker is already
 *       running, at {@code --pinned-rate}.
 * </ul>
 *
 * <p>Every request is due at a fixed time (rate × elapsed) and its latency counts from that due
 * time, not from when a thread got round to it, so a stall of the gateway or the client shows
 * up instead of thinning the load (no coordinated omission). Requests use fresh connections
 * ({@link OneShotHttp}) in both streams, so the client's cost is the same. Goal per rate: p99 of
 * first requests ≤ p99 of pinned requests + 1 ms, with no failure. The highest rate meeting it is
 * reported as the sustainable new-session rate (rates are tried in the order given; the gateway
 * gets {@code --settle} ms between steps to refill its spares). A first step of {@code --warmup}
 * seconds at the first rate is run and not counted: a gateway that has just started runs its
 * request path interpreted.
 *
 * <p>Run by {@code bench/pool-goals.sh warm}; directly: {@code java -cp benchmarks.jar
 * io.herd.benchmarks.goals.WarmSpareGoal --gateway PORT --admin PORT --rates 10,20,40}.
 */
public final class WarmSpareGoal {

  private static final double GOAL_MARGIN_MILLIS = 1;

  private WarmSpareGoal() {}

  public static void main(String[] args) throws Exception {
    Flags flags = Flags.parse(args, "--gateway", "--admin", "--rates", "--seconds",
        "--pinned-rate", "--settle", "--warmup");
    int gateway = Integer.parseInt(flags.required("--gateway"));
    int admin = Integer.parseInt(flags.required("--admin"));
    int seconds = flags.integer("--seconds", 10);
    int pinnedRate = flags.integer("--pinned-rate", 20);
    int settle = flags.integer("--settle", 2000);
    int warmup = flags.integer("--warmup", 5);
    String run = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    String pinnedKey = "pinned-" + run;
    if (OneShotHttp.get(gateway, "/health", pinnedKey) != 200) {
      throw new IllegalStateException("the pinned session's first request failed");
    }

    AtomicInteger threads = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(256, r -> {
      Thread t = new Thread(r, "warm-spare-client-" + threads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    System.out.println("rate/s\tfirst_n\tfirst_fail\tfirst_p50\tfirst_p99\tfirst_max"
        + "\tpinned_n\tpinned_fail\tpinned_p50\tpinned_p99\tfirst_p99-pinned_p99\tmet");
    int sustainable = 0;
    List<String> tried = new ArrayList<>();
    String[] rates = flags.string("--rates", "10,20,40").split(",");
    try {
      if (warmup > 0) {
        int rate = Integer.parseInt(rates[0].trim());
        Step step = step(gateway, admin, "warmup-" + run + "-", pinnedKey, rate, pinnedRate,
            warmup, pool);
        System.out.println("# warm-up, not counted: " + warmup + " s at " + rate + "/s, first p99 "
            + Percentiles.ms(Percentiles.of(step.first).at(99)) + " ms, pinned p99 "
            + Percentiles.ms(Percentiles.of(step.pinned).at(99)) + " ms");
      }
      for (String rateText : rates) {
        int rate = Integer.parseInt(rateText.trim());
        Thread.sleep(settle);
        Step step = step(gateway, admin, "warm-" + run + "-" + rate + "-", pinnedKey, rate,
            pinnedRate, seconds, pool);
        Percentiles first = Percentiles.of(step.first);
        Percentiles warm = Percentiles.of(step.pinned);
        double gap = first.at(99) - warm.at(99);
        boolean met = step.firstFailures.get() == 0 && step.pinnedFailures.get() == 0
            && gap <= GOAL_MARGIN_MILLIS;
        if (met) {
          sustainable = Math.max(sustainable, rate);
        }
        tried.add(rate + (met ? "✔" : "✘"));
        System.out.println(rate + "\t" + first.count() + "\t" + step.firstFailures.get() + "\t"
            + Percentiles.ms(first.at(50)) + "\t" + Percentiles.ms(first.at(99)) + "\t"
            + Percentiles.ms(first.max()) + "\t" + warm.count() + "\t" + step.pinnedFailures.get()
            + "\t" + Percentiles.ms(warm.at(50)) + "\t" + Percentiles.ms(warm.at(99)) + "\t"
            + Percentiles.ms(gap) + "\t" + (met ? "✔" : "✘"));
      }
    } finally {
      pool.shutdownNow();
    }
    Summary.print("warm spares: first p99 ≤ pinned p99 + 1 ms",
        "sustainable new-session rate " + (sustainable == 0 ? "none of" : sustainable + "/s of")
            + " " + String.join(" ", tried) + " /s", sustainable > 0);
  }

  /** Runs one rate step: new keys at {@code rate}, the pinned key at {@code pinnedRate}. */
  private static Step step(int gateway, int admin, String prefix, String pinnedKey, int rate,
      int pinnedRate, int seconds, ExecutorService pool) throws InterruptedException {
    Step step = new Step(seconds);
    Thread fresh = scheduler("new-keys", rate, seconds, pool,
        i -> OneShotHttp.get(gateway, "/health", prefix + i),
        i -> OneShotHttp.send(admin, "DELETE", "/sessions/" + prefix + i, null),
        step.first, step.firstFailures);
    Thread pinned = scheduler("pinned", pinnedRate, seconds, pool,
        i -> OneShotHttp.get(gateway, "/health", pinnedKey), i -> { },
        step.pinned, step.pinnedFailures);
    fresh.join();
    pinned.join();
    step.awaitAnswers(rate * seconds, pinnedRate * seconds);
    return step;
  }

  /** The samples of one rate step; lists are synchronized, written by the client threads. */
  private static final class Step {
    final List<Double> first = Collections.synchronizedList(new ArrayList<>());
    final List<Double> pinned = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger firstFailures = new AtomicInteger();
    final AtomicInteger pinnedFailures = new AtomicInteger();
    private final int seconds;

    Step(int seconds) {
      this.seconds = seconds;
    }

    /** Waits (bounded) until every request sent has been answered or has failed. */
    void awaitAnswers(int firstSent, int pinnedSent) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 60L);
      while (System.nanoTime() < deadline
          && (first.size() + firstFailures.get() < firstSent
              || pinned.size() + pinnedFailures.get() < pinnedSent)) {
        Thread.sleep(20);
      }
    }
  }

  /** One request of a stream: its index in, its HTTP status out. */
  private interface Request {
    int send(int index);
  }

  /**
   * Starts a thread that submits {@code rate × seconds} requests, each at its due time; after
   * each has been timed, {@code afterwards} runs on the same client thread, untimed.
   */
  private static Thread scheduler(String name, int rate, int seconds, ExecutorService pool,
      Request request, IntConsumer afterwards, List<Double> latencies, AtomicInteger failures) {
    Thread thread = new Thread(() -> {
      long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
      long interval = TimeUnit.SECONDS.toNanos(1) / rate;
      for (int i = 0; i < rate * seconds; i++) {
        long due = start + i * interval;
        for (long wait; (wait = due - System.nanoTime()) > 0; ) {
          LockSupport.parkNanos(wait);
        }
        int index = i;
        pool.execute(() -> {
          int status = request.send(index);
          double millis = (System.nanoTime() - due) / 1e6;
          if (status == 200) {
            latencies.add(millis);
          } else {
            failures.incrementAndGet();
          }
          afterwards.accept(index);
        });
      }
    }, "warm-spare-" + name);
    thread.start();
    return thread;
  }
}
