package io.herd.server.cli;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.parsePrometheus;
import static io.herd.server.HttpClients.sum;
import static io.herd.server.cli.ReplSessions.python3Works;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.RawHttp;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.HostPort;
import io.herd.server.runtime.HerdServer;
import io.herd.server.runtime.PoolRuntime;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several pools behind one gateway, end to end: the example {@code examples/multi-pool/herd.yaml}
 * (loaded as users load it, listen ports made ephemeral), real python3 workers of three pools
 * told apart by their environment, real HTTP over loopback. Requests are routed by {@code Host}
 * and by path prefix (stripped), the same session key in two pools is two sessions on two
 * workers, unmatched requests of a gateway without a catch-all get 404, and the metrics and admin
 * views are per pool. Skipped without python3.
 */
class MultiPoolServeTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  private HerdServer server;

  @BeforeEach
  void copyTheExample() throws Exception {
    assumeThat(python3Works()).as("python3 on the PATH").isTrue();
    // Readable by any UID: under root the sandbox runs each worker as its own user.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String name : List.of("herd.yaml", "echo_worker.py")) {
      Path copy = dir.resolve(name);
      Files.copy(Path.of("..", "examples", "multi-pool", name), copy,
          StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
    }
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close(); // stops every worker of every pool
    }
  }

  private HerdServer start(Path file) {
    HerdConfig config = HerdConfigLoader.fromEnvironment().load(file,
        new HerdConfigLoader.Overrides(new HostPort("127.0.0.1", 0),
            new HostPort("127.0.0.1", 0)));
    server = HerdServer.start(config);
    return server;
  }

  private static JsonNode call(String base, String host, String target, String session)
      throws Exception {
    RawHttp.Response r = RawHttp.exchange(base, "GET", target, null, "Host: " + host,
        "X-Session-ID: " + session);
    assertThat(r.status()).as("%s %s%s: %s", host, target, "", r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  @Test
  void routesByHostAndPathWithSessionsIsolatedPerPoolAndPerPoolViews() throws Exception {
    HerdServer herd = start(dir.resolve("herd.yaml"));
    assertThat(herd.pools()).extracting(PoolRuntime::name)
        .containsExactly("api", "repl", "default");
    String base = "http://" + herd.uri().getAuthority();

    JsonNode api = call(base, "api.localhost:8080", "/hello", "alice");
    assertThat(api.get("pool").asText()).isEqualTo("api");
    assertThat(api.get("path").asText()).isEqualTo("/hello");

    JsonNode repl = call(base, "127.0.0.1", "/repl/hello?x=1", "alice");
    assertThat(repl.get("pool").asText()).isEqualTo("repl");
    assertThat(repl.get("path").asText()).as("the prefix is stripped").isEqualTo("/hello?x=1");

    JsonNode other = call(base, "127.0.0.1", "/replica", "alice");
    assertThat(other.get("pool").asText()).as("/replica is not under /repl")
        .isEqualTo("default");

    // Host beats path: api.localhost/repl/... goes to api, unstripped.
    JsonNode both = call(base, "API.localhost", "/repl/x", "alice");
    assertThat(both.get("pool").asText()).isEqualTo("api");
    assertThat(both.get("path").asText()).isEqualTo("/repl/x");

    // The same key in three pools: three sessions on three workers; sticky within each pool.
    Set<String> workers = new HashSet<>(List.of(api.get("worker").asText(), repl.get("worker").asText(),
        other.get("worker").asText()));
    assertThat(workers).hasSize(3);
    assertThat(call(base, "api.localhost", "/again", "alice").get("worker").asText())
        .isEqualTo(api.get("worker").asText());
    assertThat(call(base, "h", "/repl", "alice").get("worker").asText())
        .isEqualTo(repl.get("worker").asText());

    String admin = herd.adminUri();
    JsonNode pools = JSON.readTree(get(admin + "/pools").body()).get("pools");
    assertThat(pools).hasSize(3);
    assertThat(pools.get(0).get("name").asText()).isEqualTo("api");
    assertThat(pools.get(0).get("sessions").asInt()).isEqualTo(1);

    JsonNode sessions = JSON.readTree(get(admin + "/sessions").body()).get("sessions");
    assertThat(sessions).hasSize(3);
    Set<String> sessionPools = new HashSet<>();
    sessions.forEach(s -> sessionPools.add(s.get("pool").asText() + ":" + s.get("key").asText()));
    assertThat(sessionPools).containsExactlyInAnyOrder("api:alice", "repl:alice",
        "default:alice");
    JsonNode replSessions =
        JSON.readTree(get(admin + "/pools/repl/sessions").body()).get("sessions");
    assertThat(replSessions).hasSize(1);
    assertThat(replSessions.get(0).get("key").asText()).isEqualTo("alice");
    assertThat(JSON.readTree(get(admin + "/sessions?pool=api").body()).get("sessions"))
        .hasSize(1);
    JsonNode replStatus = JSON.readTree(get(admin + "/pools/repl/status").body());
    assertThat(replStatus.get("pool").asText()).isEqualTo("repl");
    assertThat(replStatus.get("limits").get("max").asInt()).isEqualTo(2);
    JsonNode status = JSON.readTree(get(admin + "/status").body());
    assertThat(status.get("sessions").asInt()).isEqualTo(3);
    assertThat(status.get("pools")).hasSize(3);
    assertThat(JSON.readTree(get(admin + "/workers").body()).get("workers"))
        .allSatisfy(w -> assertThat(w.get("pool").asText()).isIn("api", "repl", "default"));
    assertThat(get(admin + "/pools/nope/status").statusCode()).isEqualTo(404);

    Map<String, Double> metrics = parsePrometheus(get(admin + "/metrics").body());
    assertThat(sum(metrics, "herd_pool_sessions", "pool=\"api\"")).isEqualTo(1.0);
    assertThat(sum(metrics, "herd_pool_sessions", "pool=\"repl\"")).isEqualTo(1.0);
    assertThat(sum(metrics, "herd_pool_max_workers", "pool=\"api\"")).isEqualTo(4.0);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
        sum(parsePrometheus(get(admin + "/metrics").body()), "herd_gateway_requests_seconds_count",
            "pool=\"api\"")).isEqualTo(3.0));

    // Ending alice in one pool leaves her sessions in the others.
    assertThat(io.herd.server.HttpClients.send("DELETE", admin + "/sessions/alice?pool=repl",
        null).statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(get(admin + "/sessions").body()).get("sessions")).hasSize(2);

    // Worker ids are per pool: draining an id several pools have is refused, ?pool= picks one.
    Map<String, Set<String>> poolsById = new HashMap<>();
    JSON.readTree(get(admin + "/workers").body()).get("workers").forEach(w -> poolsById
        .computeIfAbsent(w.get("id").asText(), k -> new HashSet<>()).add(w.get("pool").asText()));
    String shared = poolsById.entrySet().stream()
        .filter(e -> e.getValue().containsAll(List.of("api", "default")))
        .map(Map.Entry::getKey).findFirst().orElseThrow();
    HttpResponse<String> ambiguous =
        io.herd.server.HttpClients.send("POST", admin + "/workers/" + shared + "/drain", null);
    assertThat(ambiguous.statusCode()).as(ambiguous.body()).isEqualTo(409);
    assertThat(ambiguous.body()).contains("several pools", "?pool=NAME");
    HttpResponse<String> drained = io.herd.server.HttpClients.send("POST",
        admin + "/workers/" + shared + "/drain?pool=api", null);
    assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
    assertThat(JSON.readTree(drained.body()).get("pool").asText()).isEqualTo("api");
    JsonNode defaults = JSON.readTree(get(admin + "/workers?pool=default").body()).get("workers");
    assertThat(defaults).anySatisfy(w -> {
      assertThat(w.get("id").asText()).isEqualTo(shared);
      assertThat(w.get("draining").asBoolean()).as("the other pool's worker of that id").isFalse();
    });
  }

  @Test
  void aRequestNoPoolTakesIsAnswered404NamingHostAndPath() throws Exception {
    // The example without its catch-all pool.
    String text = Files.readString(dir.resolve("herd.yaml"));
    Files.writeString(dir.resolve("herd.yaml"), text.substring(0, text.indexOf("  - name: default")));
    HerdServer herd = start(dir.resolve("herd.yaml"));
    String base = "http://" + herd.uri().getAuthority();
    RawHttp.Response r = RawHttp.exchange(base, "GET", "/other?q=1", null, "Host: www.localhost",
        "X-Session-ID: bob");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.headers().get("content-type")).startsWith("text/plain");
    assertThat(r.body()).contains("no pool serves host www.localhost path /other")
        .contains("api: host api.localhost").contains("repl: pathPrefix /repl");
    assertThat(herd.pools()).allSatisfy(p -> assertThat(p.pool().stats().sessions()).isZero());
    Map<String, Double> metrics = parsePrometheus(get(herd.adminUri() + "/metrics").body());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(sum(
        parsePrometheus(get(herd.adminUri() + "/metrics").body()),
        "herd_gateway_requests_seconds_count", "pool=\"none\"", "status=\"404\""))
        .isEqualTo(1.0));
    assertThat(metrics).isNotEmpty();
  }
}
