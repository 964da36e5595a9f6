package io.herd.server.cli;

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
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.runtime.HerdServer;
import io.herd.testkit.EtcdServer;
import io.herd.testkit.Processes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways from YAML sharing their sessions through a real etcd ({@code /usr/bin/etcd} on
 * loopback ports), with real worker processes: a session is served by one worker whichever gateway
 * its requests reach; the admin API, {@code herd status} and the metrics show the nodes, owners and
 * forwarded requests; {@code /health} follows etcd going away and coming back; and a gateway killed
 * with SIGKILL takes its workers along, its sessions move to the survivor after its lease, and the
 * survivor's own sessions are not disturbed.
 *
 * <p>Every server, worker and etcd a test starts is stopped in {@link #stopEverything()}, also on
 * failure; the gateway run as its own JVM is killed with every process it started. Waits are Awaitility bounds, generous for a busy two-core machine; nothing asserts time.
 */
class ClusterServeTest {

  private static final String SECRET = "cluster-test-secret-0123456789-abcdef";
  private static final Map<String, String> ENV = Map.of("HERD_CLUSTER_SECRET", SECRET);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private EtcdServer etcd;
  private final List<HerdServer> servers = new ArrayList<>();
  private final List<HerdProcess> processes = new ArrayList<>();

  @BeforeEach
  void startEtcd() throws IOException {
    // The config's directory is the workers' working directory (other UIDs under root).
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    etcd = new EtcdServer().start();
  }

  @AfterEach
  void stopEverything() {
    for (HerdProcess p : processes) {
      p.close();
    }
    for (int i = servers.size() - 1; i >= 0; i--) {
      servers.get(i).close();
    }
    etcd.close();
  }

  /** The YAML of gateway {@code node} on {@code port}, workers stopping within 2 s. */
  private String yaml(String node, int port, String leaseTtl) {
    return "listen: 127.0.0.1:" + port + "\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "worker:\n"
        + "  command: " + TestConfigs.testWorkerCommand() + "\n"
        + "  health: { path: /health, interval: 1s, timeout: 2s }\n"
        + "  stopTimeout: 2s\n"
        + "pool: { min: 0, max: 4, warm: 0, ttl: 5m }\n"
        // The tests compare pids that workers report; in a PID namespace each one is pid 1.
        + "sandbox: { namespaces: false }\n"
        + "cluster:\n"
        + "  etcd: [\"" + etcd.clientUrl() + "\"]\n"
        + "  secret: ${HERD_CLUSTER_SECRET}\n"
        + "  node: " + node + "\n"
        + "  leaseTtl: " + leaseTtl + "\n";
  }

  private HerdServer startServer(String node, String leaseTtl) throws IOException {
    HerdConfig config = new HerdConfigLoader(ENV).parse("herd-" + node + ".yaml",
        yaml(node, freePort(), leaseTtl), dir, HerdConfigLoader.Overrides.NONE);
    HerdServer server = HerdServer.start(config);
    servers.add(server);
    return server;
  }

  /** A free loopback port: cluster gateways advertise a fixed one. */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static HttpResponse<String> request(String base, String key, String path)
      throws Exception {
    return get(base + path, "X-Session-ID", key);
  }

  private static JsonNode json(String uri) throws Exception {
    HttpResponse<String> r = get(uri);
    assertThat(r.statusCode()).as("%s: %s", uri, r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static Set<String> nodeNames(String admin) throws Exception {
    Set<String> names = new HashSet<>();
    json(admin + "/cluster").path("nodes").forEach(n -> names.add(n.path("name").asText()));
    return names;
  }

  private static String health(String admin) throws Exception {
    return JSON.readTree(get(admin + "/health").body()).path("status").asText();
  }

  private static void awaitNodes(String admin, String... nodes) {
    await("nodes " + List.of(nodes) + " at " + admin).atMost(WAIT)
        .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .until(() -> nodeNames(admin).equals(Set.of(nodes)));
  }

  @Test
  void aSessionIsServedByOneWorkerWhicheverGatewayItsRequestsReach() throws Exception {
    HerdServer a = startServer("gw-a", "15s");
    HerdServer b = startServer("gw-b", "15s");
    String baseA = a.uri().toString();
    String baseB = b.uri().toString();
    awaitNodes(a.adminUri(), "gw-a", "gw-b");
    awaitNodes(b.adminUri(), "gw-a", "gw-b");

    HttpResponse<String> first = request(baseA, "alice", "/pid");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    HttpResponse<String> viaB = request(baseB, "alice", "/pid");
    assertThat(viaB.statusCode()).as(viaB.body()).isEqualTo(200);
    assertThat(viaB.body()).as("B forwards alice to A's worker").isEqualTo(first.body());
    HttpResponse<String> bobFirst = request(baseB, "bob", "/pid");
    HttpResponse<String> bobViaA = request(baseA, "bob", "/pid");
    assertThat(bobViaA.body()).as("A forwards bob to B's worker").isEqualTo(bobFirst.body())
        .isNotEqualTo(first.body());

    assertThat(a.pool().sessions()).extracting(s -> s.key()).containsExactly("alice");
    assertThat(b.pool().sessions()).extracting(s -> s.key()).containsExactly("bob");
    JsonNode sessionsA = json(a.adminUri() + "/sessions").path("sessions");
    assertThat(sessionsA).hasSize(1);
    assertThat(sessionsA.get(0).path("key").asText()).isEqualTo("alice");
    assertThat(sessionsA.get(0).path("owner").asText()).isEqualTo("gw-a");
    assertThat(ProcessHandle.of(sessionsA.get(0).path("pid").asLong()).orElseThrow().children()
        .map(ProcessHandle::pid).toList())
        .as("the pid listed is herd-launch's, whose child answered alice's requests")
        .containsExactly(Long.parseLong(first.body().trim()));

    JsonNode clusterA = json(a.adminUri() + "/cluster");
    assertThat(clusterA.path("state").asText()).isEqualTo("CONNECTED");
    assertThat(clusterA.path("node").asText()).isEqualTo("gw-a");
    List<JsonNode> nodes = StreamSupport.stream(clusterA.path("nodes").spliterator(), false)
        .toList();
    assertThat(nodes).extracting(n -> n.path("name").asText()).containsExactly("gw-a", "gw-b");
    assertThat(nodes).extracting(n -> n.path("self").asBoolean()).containsExactly(true, false);
    assertThat(nodes).extracting(n -> n.path("advertise").asText())
        .containsExactly(baseA, baseB);
    assertThat(nodes).allSatisfy(n -> assertThat(n.path("max").asInt()).isEqualTo(4));
    assertThat(clusterA.path("counters").path("claims").asLong()).isGreaterThanOrEqualTo(1);
    assertThat(json(a.adminUri() + "/status").path("cluster").path("state").asText())
        .isEqualTo("CONNECTED");
    assertThat(health(a.adminUri())).isEqualTo("ok");

    Map<String, Double> metricsB = parsePrometheus(get(b.adminUri() + "/metrics").body());
    assertThat(sum(metricsB, "herd_cluster_forwarded_requests_total", "peer=\"gw-a\""))
        .as("B forwarded alice's request to A").isEqualTo(1.0);
    assertThat(sum(metricsB, "herd_cluster_nodes")).isEqualTo(2.0);
    assertThat(sum(metricsB, "herd_cluster_state", "state=\"connected\"")).isEqualTo(1.0);
    assertThat(sum(metricsB, "herd_cluster_state", "state=\"fenced\"")).isEqualTo(0.0);
    assertThat(sum(metricsB, "herd_cluster_claims_total")).isGreaterThanOrEqualTo(1.0);
    assertThat(metricsB).containsKeys("herd_cluster_claim_conflicts_total{pool=\"default\"}",
        "herd_cluster_lease_losses_total{pool=\"default\"}",
        "herd_cluster_sessions_lost_total{pool=\"default\"}");

    ValidateCommandTest.Run status = ValidateCommandTest.run("status", "--admin", b.adminUri());
    assertThat(status.exit()).as(status.err()).isZero();
    assertThat(status.out()).contains("cluster CONNECTED as node gw-b: 2 nodes")
        .containsPattern("gw-a +" + baseA + " +\\d+ +4")
        .containsPattern("gw-b \\* +" + baseB + " +\\d+ +4")
        .containsPattern("bob .* gw-b\n");

    HttpResponse<String> elsewhere = send("DELETE", b.adminUri() + "/sessions/alice", null);
    assertThat(elsewhere.statusCode()).isEqualTo(404);
    assertThat(elsewhere.body()).contains("gateway gw-a, which serves it");
  }

  /**
   * Shutdown order: the workers stop before the lease is revoked, and the revocation releases
   * the sessions at once — with a 60 s lease, the peer could not otherwise take them over within
   * the 30 s this allows.
   */
  @Test
  void aGatewayThatStopsReleasesItsSessionsOnlyOnceItsWorkersAreGone() throws Exception {
    HerdServer a = startServer("gw-a", "60s");
    HerdServer b = startServer("gw-b", "60s");
    String baseB = b.uri().toString();
    awaitNodes(b.adminUri(), "gw-a", "gw-b");
    long old = Long.parseLong(request(a.uri().toString(), "alice", "/pid").body().trim());
    assertThat(request(baseB, "alice", "/pid").body()).isEqualTo(Long.toString(old));

    a.close();

    assertThat(Processes.isAlive(old)).as("alice's worker stopped with its gateway").isFalse();
    String[] now = new String[1];
    await("B serves alice").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> {
          HttpResponse<String> r = request(baseB, "alice", "/pid");
          now[0] = r.body();
          return r.statusCode() == 200;
        });
    assertThat(now[0]).as("a new worker").isNotEqualTo(Long.toString(old));
    assertThat(b.pool().sessions()).extracting(s -> s.key()).containsExactly("alice");
    assertThat(json(b.adminUri() + "/cluster").path("counters").path("sessionsLost").asLong())
        .as("a gateway that left in order lost nothing").isZero();
  }

  @Test
  void healthIsDegradedWhileEtcdIsDownAndOkOnceItIsBackWhileLocalSessionsKeepWorking()
      throws Exception {
    // A long lease: the gateway fences itself half a lease after its last renewal, and degraded
    // is the state before that; 15 s leave room to look at it on a busy machine.
    HerdServer a = startServer("gw-a", "30s");
    String base = a.uri().toString();
    String admin = a.adminUri();
    await("connected").atMost(WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .until(() -> health(admin).equals("ok") && nodeNames(admin).equals(Set.of("gw-a")));
    String pid = request(base, "alice", "/pid").body();

    etcd.stop();
    await("degraded").atMost(WAIT).pollInterval(Duration.ofMillis(100))
        .until(() -> health(admin), "degraded"::equals);
    assertThat(get(admin + "/health").statusCode()).as("degraded still serves").isEqualTo(200);
    HttpResponse<String> local = request(base, "alice", "/pid");
    assertThat(local.statusCode()).as(local.body()).isEqualTo(200);
    assertThat(local.body()).as("the local session keeps its worker").isEqualTo(pid);
    HttpResponse<String> fresh = request(base, "carol", "/pid");
    assertThat(fresh.statusCode()).as("a new session needs etcd: %s", fresh.body())
        .isEqualTo(503);
    assertThat(fresh.headers().firstValue("Retry-After")).isPresent();

    etcd.start();
    await("ok again").atMost(WAIT).pollInterval(Duration.ofMillis(100))
        .until(() -> health(admin), "ok"::equals);
    await("a new session once etcd is back").atMost(WAIT).pollInterval(Duration.ofMillis(200))
        .until(() -> request(base, "carol", "/pid").statusCode() == 200);
  }

  @Test
  void aKilledGatewaysSessionsMoveToTheSurvivorAfterItsLeaseAndTheSurvivorsStay()
      throws Exception {
    HerdServer survivor = startServer("gw-s", "6s");
    Path file = dir.resolve("herd-gw-k.yaml");
    Files.writeString(file, yaml("gw-k", freePort(), "6s"));
    HerdProcess killed = HerdProcess.start(ENV, "serve", "--config", file.toString());
    processes.add(killed);
    String baseK = killed.awaitServing(WAIT);
    String adminK = killed.adminUri(WAIT);
    String baseS = survivor.uri().toString();
    awaitNodes(survivor.adminUri(), "gw-k", "gw-s");
    // Its record is visible to peers before its own join has finished (grant, register, read,
    // renew): until then it refuses new sessions, so wait for its own health to say ok.
    await("gw-k joined").atMost(WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .until(() -> health(adminK), "ok"::equals);

    String carol = request(baseK, "carol", "/pid").body();
    String dave = request(baseS, "dave", "/pid").body();
    assertThat(request(baseS, "carol", "/pid").body()).as("carol is K's").isEqualTo(carol);
    killed.recordDescendants();
    assertThat(killed.descendants()).extracting(ProcessHandle::pid)
        .contains(Long.parseLong(carol.trim()));

    killed.process().destroyForcibly(); // SIGKILL
    assertThat(killed.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    await("K's workers die with it").atMost(WAIT).pollInterval(Duration.ofMillis(100))
        .until(() -> killed.survivors().isEmpty());
    assertThat(Processes.isAlive(Long.parseLong(carol.trim()))).isFalse();

    Set<Integer> statuses = new HashSet<>();
    await("carol is served again, by the survivor").atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> {
          HttpResponse<String> r = request(baseS, "carol", "/pid");
          statuses.add(r.statusCode());
          return r.statusCode() == 200;
        });
    assertThat(statuses).as("while K's lease lives: a 502 or 503, never anything else")
        .isSubsetOf(200, 502, 503);
    String newCarol = request(baseS, "carol", "/pid").body();
    assertThat(newCarol).as("a new worker").isNotEqualTo(carol);
    assertThat(survivor.pool().sessions()).extracting(s -> s.key())
        .containsExactlyInAnyOrder("carol", "dave");
    assertThat(request(baseS, "dave", "/pid").body()).as("the survivor's session is undisturbed")
        .isEqualTo(dave);
    awaitNodes(survivor.adminUri(), "gw-s");
    assertThat(json(survivor.adminUri() + "/cluster").path("counters").path("sessionsLost")
        .asLong()).as("carol was lost with K").isEqualTo(1);
  }
}
