package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterState;
import io.herd.cluster.ClusterStatus;
import io.herd.core.PoolConfig;
import io.herd.core.SessionPool;
import io.herd.core.WorkerStartException;
import io.herd.core.testing.ObjectWorkerFactory;
import io.herd.server.BuildInfo;
import io.herd.server.config.AdminConfig;
import io.herd.server.config.HostPort;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The probes' answers in every state, through a real admin server: shutdown, each cluster state,
 * and spawn failures counted in a row (fed to the {@link SpawnHealth} as the pool reports them;
 * {@code HealthProbesTest} has a real failing worker command). Also {@code /version}.
 */
class ReadinessTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "0123456789abcdef-token";

  private final SessionPool pool = SessionPool.create(
      PoolConfig.builder().min(0).max(1).warm(0).build(),
      new ObjectWorkerFactory(URI.create("http://127.0.0.1:1"), OptionalLong.of(1)));
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicReference<ClusterState> state = new AtomicReference<>();
  private final SpawnHealth spawns = new SpawnHealth();
  private AdminServer admin;

  @AfterEach
  void stop() {
    if (admin != null) {
      admin.close();
    }
    pool.close();
  }

  private String start(boolean cluster) {
    Optional<ClusterView> view = cluster ? Optional.of(new ClusterView(
        () -> new ClusterStatus(state.get(), "gw-1", List.of()),
        () -> new ClusterCounters(0, 0, 0, 0, 0), key -> Optional.empty())) : Optional.empty();
    admin = AdminServer.start(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.of(TOKEN)),
        new AdminTarget(pool, () -> "", () -> Map.of(), draining::get, SessionIds.unsigned(),
            view, id -> Optional.empty(), spawns));
    return admin.uri();
  }

  private static String probe(String uri, int status) throws Exception {
    HttpResponse<String> r = get(uri);
    assertThat(r.statusCode()).as(uri + ": " + r.body()).isEqualTo(status);
    JsonNode body = JSON.readTree(r.body());
    return body.path("status").asText()
        + (body.has("reason") ? " / " + body.path("reason").asText() : "");
  }

  @Test
  void spawnFailuresInARowMakeTheGatewayNotReadyUntilOneSucceeds() throws Exception {
    String base = start(false);
    assertThat(probe(base + "/health/ready", 200)).isEqualTo("ready");

    spawns.spawnFailed("w-1", new CompletionException(new WorkerStartException(
        "worker w-1 exited with status 127 before it was healthy\nstderr: sh: nope: not found")));
    spawns.spawnFailed("w-2", new RuntimeException("second"));
    assertThat(probe(base + "/health/ready", 200)).as("two failures are not enough")
        .isEqualTo("ready");
    spawns.spawnFailed("w-3", new WorkerStartException(
        "worker w-3 exited with status 127 before it was healthy\nstderr: sh: nope: not found"));

    assertThat(probe(base + "/health/ready", 503)).isEqualTo("not_ready / last 3 worker spawns"
        + " failed: worker w-3 exited with status 127 before it was healthy");
    assertThat(probe(base + "/health", 503)).startsWith("not_ready / last 3 worker spawns");
    assertThat(probe(base + "/health/live", 200)).isEqualTo("ok");

    spawns.workerStarted(null);
    assertThat(probe(base + "/health/ready", 200)).isEqualTo("ready");
    assertThat(probe(base + "/health", 200)).isEqualTo("ok");
  }

  @Test
  void clusterStatesAndShutdown() throws Exception {
    String base = start(true);
    state.set(ClusterState.CONNECTED);
    assertThat(probe(base + "/health/ready", 200)).isEqualTo("ready");
    assertThat(probe(base + "/health", 200)).isEqualTo("ok");

    state.set(ClusterState.DEGRADED);
    assertThat(probe(base + "/health/ready", 503)).startsWith("not_ready / degraded: ");
    assertThat(probe(base + "/health", 200)).as("as documented before").isEqualTo("degraded");

    state.set(ClusterState.FENCED);
    assertThat(probe(base + "/health/ready", 503)).startsWith("not_ready / fenced: ");
    assertThat(probe(base + "/health", 503)).startsWith("fenced");

    state.set(ClusterState.CONNECTED);
    draining.set(true);
    assertThat(probe(base + "/health/ready", 503)).startsWith("not_ready / draining: ");
    assertThat(probe(base + "/health", 503)).startsWith("draining");
    assertThat(probe(base + "/health/live", 200)).isEqualTo("ok");
  }

  @Test
  void versionNeedsTheTokenAndSaysWhatBuildThisIs() throws Exception {
    String base = start(false);
    assertThat(get(base + "/version").statusCode()).isEqualTo(401);
    HttpResponse<String> r = get(base + "/version", "Authorization", "Bearer " + TOKEN);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode v = JSON.readTree(r.body());
    BuildInfo build = BuildInfo.current();
    assertThat(v.path("version").asText()).isEqualTo(build.version()).isNotEqualTo("unknown");
    assertThat(v.path("commit").asText()).isEqualTo(build.commit()).isNotBlank();
    assertThat(v.path("java").asText()).isEqualTo(System.getProperty("java.version"));
  }
}
