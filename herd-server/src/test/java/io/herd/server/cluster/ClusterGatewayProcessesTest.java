package io.herd.server.cluster;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.parsePrometheus;
import static io.herd.server.HttpClients.send;
import static io.herd.server.HttpClients.sum;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.testkit.EtcdServer;
import io.herd.testkit.Processes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 end to end with real processes: a real etcd and two {@code herd serve} gateway JVMs,
 * A and B, started from YAML as users start them, with the testkit's TestWorker processes behind
 * them ({@code leaseTtl: 3s}).
 *
 * <ol>
 *   <li>Racing first requests: about 200 new keys, each requested through A and B at the same
 *       moment; every key is served by one worker (both answers name the same pid), and after
 *       each wave exactly one gateway holds the session.
 *   <li>SIGKILL of gateway B: B's workers die with it, B's keys are served again through A on new
 *       workers once B's lease expired, and A's sessions are undisturbed (same worker, the counter
 *       keeps counting).
 * </ol>
 *
 * <p>Nothing here asserts a duration: waits are Awaitility's, with generous bounds for a busy
 * two-core machine. Every process (etcd, gateways, workers) is gone at the end, even on failure.
 */
class ClusterGatewayProcessesTest {

  private static final Duration START = Duration.ofSeconds(90);
  private static final String SECRET = "e2e-cluster-secret-0123456789abcdefghij";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int KEYS = 200;
  /**
   * Keys raced per wave: one pool's capacity ({@code pool.max}). Concurrent claims all see room on
   * the gateway that received them, so one gateway may win every key of a wave; its sessions end
   * only after the wave, so a wave larger than one pool could wait in its queue for them forever.
   */
  private static final int WAVE = 4;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir
  Path dir;

  @Test
  void racedKeysGetOneWorkerAndAKilledGatewaysKeysMoveToTheSurvivor() throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(2 * WAVE);
    try (EtcdServer etcd = new EtcdServer().start();
        Gateway a = Gateway.start(dir, "a", etcd.clientUrl());
        Gateway b = Gateway.start(dir, "b", etcd.clientUrl())) {
      a.awaitServing();
      b.awaitServing();
      await("both gateways see both nodes").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> nodes(a).size() == 2 && nodes(b).size() == 2);

      try {
        raceFirstRequests(a, b, clients);
        killGatewayB(a, b);
      } catch (Exception | AssertionError e) {
        throw new AssertionError(e.getMessage() + "\n--- gateway a ---\n" + tail(a)
            + "\n--- gateway b ---\n" + tail(b), e);
      }
    } finally {
      clients.shutdownNow();
      clients.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  /** Each key through both gateways at once, WAVE keys at a time, sessions ended after each wave. */
  private void raceFirstRequests(Gateway a, Gateway b, ExecutorService clients) throws Exception {
    for (int start = 0; start < KEYS; start += WAVE) {
      Map<String, List<CompletableFuture<HttpResponse<String>>>> answers = new HashMap<>();
      for (int i = start; i < Math.min(KEYS, start + WAVE); i++) {
        String key = "race-" + i;
        answers.put(key, List.of(
            CompletableFuture.supplyAsync(() -> pid(a, key), clients),
            CompletableFuture.supplyAsync(() -> pid(b, key), clients)));
      }
      Set<String> onA = new HashSet<>();
      Set<String> onB = new HashSet<>();
      for (var e : answers.entrySet()) {
        HttpResponse<String> viaA = e.getValue().get(0).get(90, TimeUnit.SECONDS);
        HttpResponse<String> viaB = e.getValue().get(1).get(90, TimeUnit.SECONDS);
        assertThat(viaA.statusCode()).as("%s through A: %s", e.getKey(), viaA.body())
            .isEqualTo(200);
        assertThat(viaB.statusCode()).as("%s through B: %s", e.getKey(), viaB.body())
            .isEqualTo(200);
        assertThat(viaA.body()).as("%s: the same worker through both gateways", e.getKey())
            .isEqualTo(viaB.body());
      }
      onA.addAll(localSessions(a));
      onB.addAll(localSessions(b));
      Set<String> twice = new HashSet<>(onA);
      twice.retainAll(onB);
      assertThat(twice).as("keys held by both gateways (A %s, B %s)", onA, onB).isEmpty();
      Set<String> both = new HashSet<>(onA);
      both.addAll(onB);
      assertThat(both).as("every key of the wave is held by one gateway")
          .containsAll(answers.keySet());
      for (String key : answers.keySet()) {
        Gateway owner = onA.contains(key) ? a : b;
        HttpResponse<String> ended = send("DELETE", owner.admin + "/sessions/" + key, null);
        assertThat(ended.statusCode()).as("end %s on its owner: %s", key, ended.body())
            .isEqualTo(200);
      }
      await("the wave's sessions ended").atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> localSessions(a).isEmpty() && localSessions(b).isEmpty());
    }
    double claims = sum(metrics(a), "herd_cluster_claims_total")
        + sum(metrics(b), "herd_cluster_claims_total");
    assertThat(claims).as("one won claim per key at least").isGreaterThanOrEqualTo(KEYS);
  }

  private void killGatewayB(Gateway a, Gateway b) throws Exception {
    List<String> aKeys = List.of("alice-0", "alice-1");
    List<String> bKeys = List.of("bob-0", "bob-1");
    Map<String, String> pids = new HashMap<>();
    for (String key : aKeys) {
      pids.put(key, body(a, key, "/pid"));
    }
    for (String key : bKeys) {
      pids.put(key, body(b, key, "/pid"));
    }
    assertThat(localSessions(a)).as("A owns its keys").containsAll(aKeys);
    assertThat(localSessions(b)).as("B owns its keys").containsAll(bKeys);
    for (String key : bKeys) {
      assertThat(body(a, key, "/pid")).as("%s through A is forwarded to B's worker", key)
          .isEqualTo(pids.get(key));
    }
    long aliceCount = Long.parseLong(body(a, "alice-0", "/count"));
    assertThat(Long.parseLong(body(b, "alice-0", "/count"))).as("alice-0 through B: A's worker")
        .isEqualTo(aliceCount + 1);
    Set<Long> bWorkers = new HashSet<>();
    b.process.descendants().forEach(h -> bWorkers.add(h.pid()));
    for (String key : bKeys) {
      assertThat(bWorkers).as("B's worker for %s", key).contains(Long.parseLong(pids.get(key)));
    }

    b.process.process().toHandle().destroyForcibly(); // SIGKILL
    assertThat(b.process.process().waitFor(30, TimeUnit.SECONDS)).as("B exited").isTrue();
    await("B's workers die with it").atMost(Duration.ofSeconds(30))
        .until(() -> b.process.survivors().isEmpty());

    for (String key : bKeys) {
      String[] now = new String[1];
      await(key + " served again through A").atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> {
            HttpResponse<String> r = pid(a, key);
            now[0] = r.body();
            return r.statusCode() == 200;
          });
      assertThat(now[0]).as("%s: a new worker", key).isNotEqualTo(pids.get(key));
      assertThat(Processes.descendantPidsOf(a.process.process().toHandle()))
          .as("%s: the new worker is A's", key).contains(Long.parseLong(now[0]));
    }
    for (String key : aKeys) {
      assertThat(body(a, key, "/pid")).as("%s: A's session undisturbed", key)
          .isEqualTo(pids.get(key));
    }
    assertThat(Long.parseLong(body(a, "alice-0", "/count"))).as("alice-0 keeps counting")
        .isEqualTo(aliceCount + 2);
    assertThat(sum(metrics(a), "herd_cluster_sessions_lost_total"))
        .as("A reports B's sessions as lost").isGreaterThanOrEqualTo(1);

    assertThat(a.process.terminate(Duration.ofSeconds(60))).as(a.process.transcript()).isZero();
    assertThat(a.process.survivors()).as("no worker survives A").isEmpty();
  }

  // ---------------------------------------------------------------- helpers

  private HttpResponse<String> pid(Gateway g, String key) {
    try {
      HttpRequest request = HttpRequest.newBuilder(URI.create(g.base + "/pid"))
          .timeout(Duration.ofSeconds(60)).header("X-Session-ID", key).GET().build();
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("GET /pid for " + key + " through " + g.node + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String body(Gateway g, String key, String path) throws Exception {
    HttpResponse<String> r = get(g.base + path, "X-Session-ID", key);
    assertThat(r.statusCode()).as("%s %s through %s: %s", path, key, g.node, r.body())
        .isEqualTo(200);
    return r.body();
  }

  private static Set<String> localSessions(Gateway g) throws Exception {
    Set<String> keys = new HashSet<>();
    for (JsonNode s : JSON.readTree(get(g.admin + "/sessions").body()).path("sessions")) {
      keys.add(s.path("key").asText());
    }
    return keys;
  }

  private static List<String> nodes(Gateway g) throws Exception {
    HttpResponse<String> r = get(g.admin + "/cluster");
    List<String> names = new ArrayList<>();
    if (r.statusCode() == 200) {
      JSON.readTree(r.body()).path("nodes").forEach(n -> names.add(n.path("name").asText()));
    }
    return names;
  }

  private static String tail(Gateway g) {
    String t = g.process.transcript();
    return t.length() <= 6000 ? t : t.substring(t.length() - 6000);
  }

  private static Map<String, Double> metrics(Gateway g) throws Exception {
    return parsePrometheus(get(g.admin + "/metrics").body());
  }

  /** One {@code herd serve} process in the cluster, on ports picked for it. */
  private static final class Gateway implements AutoCloseable {
    final String node;
    final HerdProcess process;
    final String base;
    String admin;

    private Gateway(String node, HerdProcess process, String base) {
      this.node = node;
      this.process = process;
      this.base = base;
    }

    static Gateway start(Path root, String node, URI etcd) throws IOException {
      Path dir = Files.createDirectories(root.resolve(node));
      int port = freePort();
      String yaml = "listen: 127.0.0.1:" + port + "\n"
          + "admin: { listen: 127.0.0.1:0 }\n"
          + "session: { key: \"header:X-Session-ID\" }\n"
          + "worker:\n"
          + "  command: " + TestConfigs.testWorkerCommand() + "\n"
          + "  health: { path: /health, interval: 1s, timeout: 2s }\n"
          + "  startTimeout: 60s\n"
          + "  stopTimeout: 500ms\n"
          // reuse: a freed worker serves the next key, so 200 keys need a handful of JVMs
          + "pool: { min: 0, max: 4, warm: 2, ttl: 5m, reuse: true, acquireTimeout: 60s }\n"
          + "sandbox: { namespaces: false }\n"
          + "cluster:\n"
          + "  etcd: [\"" + etcd + "\"]\n"
          + "  secret: \"${HERD_CLUSTER_SECRET}\"\n"
          + "  node: " + node + "\n"
          + "  leaseTtl: 3s\n";
      Path config = dir.resolve("herd.yaml");
      Files.writeString(config, yaml);
      Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      HerdProcess p = HerdProcess.start(Map.of("HERD_CLUSTER_SECRET", SECRET), "serve",
          "--config", config.toString());
      return new Gateway(node, p, "http://127.0.0.1:" + port);
    }

    void awaitServing() throws InterruptedException {
      process.awaitServing(START);
      admin = process.adminUri(START);
    }

    @Override
    public void close() {
      process.close();
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      }
    }
  }
}
