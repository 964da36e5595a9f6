package io.herd.benchmarks.goals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Goal 4 of issue 9, many tunnels: idle WebSocket tunnels through one gateway, all to one
 * session on one echo worker ({@code bench/pool-ws-worker.c}).
 *
 * <ul>
 *   <li>{@code --mode capacity}: open {@code --count} tunnels ({@code --threads} at a time),
 *       count how each attempt ended, check that every open tunnel still echoes, then report the
 *       gateway's heap used after a full GC ({@code jcmd PID GC.run}, {@code GC.heap_info}), its
 *       RSS and threads. Goal: every tunnel open and echoing, heap ≤ 512 MiB.
 *   <li>{@code --mode overload}: the same against a gateway started with fewer descriptors than
 *       the tunnels need. Then: do the tunnels opened before the limit still echo; did every
 *       refused attempt get an answer or a clean close (none {@link WebSocketTunnel.Outcome#HUNG});
 *       and after half of the open tunnels are closed, do {@code --recover} new ones open and
 *       echo. The gateway's log lines about the refusal are counted by the script.
 * </ul>
 *
 * <p>Run by {@code bench/pool-goals.sh tunnels}; directly: {@code java -cp benchmarks.jar
 * io.herd.benchmarks.goals.TunnelGoal --port PORT --count 9000 --gateway-pid PID}.
 */
public final class TunnelGoal {

  private static final long HEAP_GOAL_BYTES = 512L << 20;
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

  private TunnelGoal() {}

  public static void main(String[] args) throws Exception {
    Flags flags = Flags.parse(args, "--port", "--count", "--mode", "--gateway-pid", "--threads",
        "--timeout", "--recover");
    int port = Integer.parseInt(flags.required("--port"));
    int count = flags.integer("--count", 1000);
    String mode = flags.string("--mode", "capacity");
    long pid = Long.parseLong(flags.string("--gateway-pid", "0"));
    int threads = flags.integer("--threads", 16);
    int timeout = flags.integer("--timeout", 10_000);
    int recover = flags.integer("--recover", 100);
    if (!mode.equals("capacity") && !mode.equals("overload")) {
      throw new IllegalArgumentException("--mode must be capacity or overload: " + mode);
    }
    String key = "tunnels-" + Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<WebSocketTunnel> open = new ArrayList<>();
    try {
      long start = System.nanoTime();
      Map<WebSocketTunnel.Outcome, Integer> outcomes =
          openAll(pool, port, key, count, timeout, open);
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(Locale.ROOT, "opened %d of %d tunnels in %.1f s: %s%n", open.size(), count,
          seconds, outcomes);
      int echoing = echoing(open, "idle");
      System.out.printf("tunnels echoing after all were opened: %d of %d%n", echoing, open.size());
      String gateway = pid > 0 ? gatewayFootprint(pid) : "";
      if (!gateway.isEmpty()) {
        System.out.println("gateway: " + gateway);
      }
      if (mode.equals("capacity")) {
        long heap = pid > 0 ? heapUsedAfterGc(pid) : -1;
        boolean met = open.size() == count && echoing == count && heap >= 0
            && heap <= HEAP_GOAL_BYTES;
        Summary.print("tunnels: " + count + " idle, 0 failures, heap ≤ 512 MiB",
            open.size() + "/" + count + " open, " + echoing + " echoing, heap used after GC "
                + (heap < 0 ? "?" : heap / (1 << 20) + " MiB") + ", " + gateway, met);
        return;
      }
      int hung = outcomes.getOrDefault(WebSocketTunnel.Outcome.HUNG, 0);
      int half = open.size() / 2;
      for (int i = 0; i < half; i++) {
        open.remove(open.size() - 1).close();
      }
      Thread.sleep(1000);
      List<WebSocketTunnel> fresh = new ArrayList<>();
      Map<WebSocketTunnel.Outcome, Integer> after =
          openAll(pool, port, key, recover, timeout, fresh);
      int freshEchoing = echoing(fresh, "fresh");
      int keptEchoing = echoing(open, "kept");
      System.out.printf("after closing %d: %d of %d new tunnels opened (%s), %d of them echo; "
          + "%d of %d kept tunnels echo%n", half, fresh.size(), recover, after, freshEchoing,
          keptEchoing, open.size());
      open.addAll(fresh);
      boolean met = echoing == outcomes.getOrDefault(WebSocketTunnel.Outcome.OPEN, 0) && hung == 0
          && freshEchoing == recover && keptEchoing == open.size() - fresh.size();
      Summary.print("tunnels past the fd limit: existing echo, refusals answered, recovery",
          count + " tried: " + outcomes + "; existing echo " + echoing + "; after closing " + half
              + ": " + freshEchoing + "/" + recover + " new open and echo", met);
    } finally {
      for (WebSocketTunnel tunnel : open) {
        tunnel.close();
      }
      pool.shutdownNow();
    }
  }

  private static Map<WebSocketTunnel.Outcome, Integer> openAll(ExecutorService pool, int port,
      String key, int count, int timeout, List<WebSocketTunnel> open) throws Exception {
    List<Future<WebSocketTunnel>> attempts = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      attempts.add(pool.submit(() -> WebSocketTunnel.open(port, key, timeout)));
    }
    Map<WebSocketTunnel.Outcome, Integer> outcomes = new EnumMap<>(WebSocketTunnel.Outcome.class);
    Map<Integer, Integer> statuses = new TreeMap<>();
    for (Future<WebSocketTunnel> attempt : attempts) {
      WebSocketTunnel tunnel = attempt.get();
      outcomes.merge(tunnel.outcome, 1, Integer::sum);
      if (tunnel.outcome == WebSocketTunnel.Outcome.OPEN) {
        open.add(tunnel);
      } else if (tunnel.outcome == WebSocketTunnel.Outcome.ANSWERED) {
        statuses.merge(tunnel.status, 1, Integer::sum);
      }
    }
    if (!statuses.isEmpty()) {
      System.out.println("statuses of the answered attempts: " + statuses);
    }
    return outcomes;
  }

  private static int echoing(List<WebSocketTunnel> tunnels, String label) {
    int n = 0;
    for (int i = 0; i < tunnels.size(); i++) {
      if (tunnels.get(i).echoes(label + "-" + i)) {
        n++;
      }
    }
    return n;
  }

  /** RSS and thread count of the gateway, from /proc/PID/status. */
  private static String gatewayFootprint(long pid) throws IOException {
    String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"),
        StandardCharsets.US_ASCII);
    Matcher rss = Pattern.compile("VmRSS:\\s+(\\d+) kB").matcher(status);
    Matcher threads = Pattern.compile("Threads:\\s+(\\d+)").matcher(status);
    return "RSS " + (rss.find() ? Long.parseLong(rss.group(1)) / 1024 + " MiB" : "?") + ", threads "
        + (threads.find() ? threads.group(1) : "?");
  }

  /** Heap used after a full GC, in bytes, from jcmd; -1 when jcmd gave no figure. */
  private static long heapUsedAfterGc(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    Matcher used = HEAP_USED.matcher(info);
    if (!used.find()) {
      System.out.println("# jcmd GC.heap_info gave no used figure:\n" + info);
      return -1;
    }
    System.out.println("gateway heap after a full GC: " + info.lines()
        .filter(l -> l.contains("used")).findFirst().orElse("").trim());
    return Long.parseLong(used.group(1)) * 1024;
  }

  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    Process process = new ProcessBuilder(java, Long.toString(pid), command)
        .redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor();
    return output;
  }
}
