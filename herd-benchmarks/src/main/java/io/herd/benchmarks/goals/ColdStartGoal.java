package io.herd.benchmarks.goals;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Goal 2 of issue 9, cold start against the worker's floor, measured from outside a real gateway.
 * Each round times, in an order that alternates from round to round:
 *
 * <ul>
 *   <li><b>floor</b>: the worker started directly ({@link ProcessBuilder#start()}), then
 *       {@code GET /health} on fresh connections in a tight loop until 200: the fastest anyone
 *       can learn that this worker is ready;
 *   <li><b>gateway</b>: {@code GET /health} with a session key never used before, through a
 *       gateway with {@code min: 0, warm: 0}, so the pool spawns a worker for it: from the
 *       request's first byte to the end of its response.
 * </ul>
 *
 * <p>After the gateway round its session is ended through the admin API ({@code DELETE
 * /sessions/KEY}) and the next round starts once no worker process is left, then after
 * {@code --pause} ms. The overhead is gateway − floor: the difference of the medians (and of
 * the p90s), and the median of the per-round differences. Goal: ≤ 10 ms.
 *
 * <p>Run by {@code bench/pool-goals.sh cold}; directly: {@code java -cp benchmarks.jar
 * io.herd.benchmarks.goals.ColdStartGoal --worker W --gateway PORT --admin PORT --rounds 30}.
 */
public final class ColdStartGoal {

  private static final double GOAL_MILLIS = 10;

  private ColdStartGoal() {}

  public static void main(String[] args) throws Exception {
    Flags flags = Flags.parse(args, "--worker", "--gateway", "--admin", "--rounds", "--warmup",
        "--pause");
    String worker = flags.required("--worker");
    int gateway = Integer.parseInt(flags.required("--gateway"));
    int admin = Integer.parseInt(flags.required("--admin"));
    int rounds = flags.integer("--rounds", 30);
    int warmup = flags.integer("--warmup", 3);
    int pause = flags.integer("--pause", 200);
    ProcessCounter workers = new ProcessCounter(Path.of(worker).getFileName().toString());
    String run = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    List<Double> floor = new ArrayList<>();
    List<Double> through = new ArrayList<>();
    List<Double> differences = new ArrayList<>();
    System.out.println("round\tfloor_ms\tgateway_ms\toverhead_ms");
    for (int round = 1 - warmup; round <= rounds; round++) {
      double direct = Double.NaN;
      double gated = Double.NaN;
      for (int step = 0; step < 2; step++) {
        boolean floorNow = (step == 0) == (Math.floorMod(round, 2) == 0);
        if (floorNow) {
          direct = floor(worker);
        } else {
          gated = gateway(gateway, admin, "cold-" + run + "-" + round, workers);
        }
        Thread.sleep(pause);
      }
      String label = round <= 0 ? "warmup" : Integer.toString(round);
      System.out.println(label + "\t" + Percentiles.ms(direct) + "\t" + Percentiles.ms(gated)
          + "\t" + Percentiles.ms(gated - direct));
      if (round > 0) {
        floor.add(direct);
        through.add(gated);
        differences.add(gated - direct);
      }
    }
    Percentiles f = Percentiles.of(floor);
    Percentiles g = Percentiles.of(through);
    Percentiles d = Percentiles.of(differences);
    System.out.printf("floor   (n=%d): median %s ms, p90 %s ms%n", f.count(),
        Percentiles.ms(f.at(50)), Percentiles.ms(f.at(90)));
    System.out.printf("gateway (n=%d): median %s ms, p90 %s ms%n", g.count(),
        Percentiles.ms(g.at(50)), Percentiles.ms(g.at(90)));
    double overhead = g.at(50) - f.at(50);
    System.out.printf("overhead: median %s ms, p90 %s ms (differences of percentiles); "
            + "per-round differences: median %s ms, p90 %s ms%n", Percentiles.ms(overhead),
        Percentiles.ms(g.at(90) - f.at(90)), Percentiles.ms(d.at(50)), Percentiles.ms(d.at(90)));
    int failed = through.size() - g.count();
    Summary.print("cold start ≤ floor + 10 ms (median)", "+" + Percentiles.ms(overhead)
        + " ms (floor " + Percentiles.ms(f.at(50)) + ", gateway " + Percentiles.ms(g.at(50))
        + "; p90 +" + Percentiles.ms(g.at(90) - f.at(90)) + ")"
        + (failed == 0 ? "" : "; " + failed + " new keys without 200"),
        overhead <= GOAL_MILLIS && failed == 0);
  }

  /** Spawn → first 200 on /health of the worker itself, in ms; the worker is stopped after. */
  private static double floor(String worker) throws Exception {
    int port = freePort();
    long start = System.nanoTime();
    Process process = new ProcessBuilder(worker, Integer.toString(port))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      while (OneShotHttp.get(port, "/health", null) != 200) {
        if (!process.isAlive()) {
          throw new IllegalStateException("the worker exited with " + process.exitValue());
        }
      }
      return (System.nanoTime() - start) / 1e6;
    } finally {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  /** A new key's first request through the gateway, in ms; NaN when it did not get 200. */
  private static double gateway(int gateway, int admin, String key, ProcessCounter workers)
      throws InterruptedException {
    long start = System.nanoTime();
    int status = OneShotHttp.get(gateway, "/health", key);
    double millis = (System.nanoTime() - start) / 1e6;
    OneShotHttp.send(admin, "DELETE", "/sessions/" + key, null);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (workers.count() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    if (status != 200) {
      System.out.println("# " + key + ": status " + status);
      return Double.NaN;
    }
    return millis;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
