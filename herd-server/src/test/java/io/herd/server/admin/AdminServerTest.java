package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.testing.ObjectWorkerFactory;
import java.net.URI;
import java.util.OptionalLong;
import io.herd.server.config.AdminConfig;
import io.herd.server.config.HostPort;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin API in-process, over real loopback sockets, in front of a pool of fake workers. */
class AdminServerTest {

  private static final String TOKEN = "0123456789abcdef-token";
  private static final ObjectMapper JSON = new ObjectMapper();

  private SessionPool pool;
  private AdminServer admin;
  private final AtomicBoolean draining = new AtomicBoolean();

  @BeforeEach
  void start() {
    pool = SessionPool.create(PoolConfig.builder().min(0).max(3).warm(0).build(),
        new ObjectWorkerFactory(URI.create("http://127.0.0.1:1"), OptionalLong.of(4242)));
  }

  @AfterEach
  void stop() {
    if (admin != null) {
      admin.close();
    }
    pool.close();
  }

  private String startAdmin(Optional<String> token) {
    admin = AdminServer.start(new AdminConfig(new HostPort("127.0.0.1", 0), token),
        new AdminTarget(pool, () -> "# metrics\n", () -> Map.of("listen", "http://x"),
            draining::get));
    return admin.uri();
  }

  @Test
  void tokenIsRequiredOnEveryRouteButHealth() throws Exception {
    String base = startAdmin(Optional.of(TOKEN));

    HttpResponse<String> none = get(base + "/status");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("www-authenticate")).contains("Bearer realm=\"herd\"");
    assertThat(get(base + "/sessions", "Authorization", "Bearer wrong").statusCode())
        .isEqualTo(401);
    assertThat(get(base + "/metrics", "Authorization", "Bearer " + TOKEN + "x").statusCode())
        .as("a token with the right prefix is still wrong").isEqualTo(401);
    assertThat(send("DELETE", base + "/sessions/a", null).statusCode()).isEqualTo(401);
    assertThat(get(base + "/status", "Authorization", "Bearer " + TOKEN).statusCode())
        .isEqualTo(200);
    assertThat(get(base + "/metrics", "Authorization", "bearer " + TOKEN).statusCode())
        .as("the scheme is case-insensitive").isEqualTo(200);
    assertThat(get(base + "/health").statusCode()).isEqualTo(200);
  }

  @Test
  void sessionsAreListedAndEndedByKey() throws Exception {
    String base = startAdmin(Optional.empty());
    SessionLease lease = pool.acquire("user/1", Duration.ofSeconds(5));

    JsonNode sessions = JSON.readTree(get(base + "/sessions").body()).path("sessions");
    assertThat(sessions).hasSize(1);
    assertThat(sessions.get(0).path("key").asText()).isEqualTo("user/1");
    assertThat(sessions.get(0).path("pid").asLong()).isEqualTo(4242);
    assertThat(sessions.get(0).path("openLeases").asInt()).isEqualTo(1);
    lease.close();

    HttpResponse<String> ended = send("DELETE", base + "/sessions/user%2F1", null);
    assertThat(ended.statusCode()).as(ended.body()).isEqualTo(200);
    assertThat(JSON.readTree(ended.body()).path("key").asText()).isEqualTo("user/1");
    assertThat(pool.sessions()).isEmpty();
    assertThat(send("DELETE", base + "/sessions/user%2F1", null).statusCode()).isEqualTo(404);
  }

  @Test
  void statusReportsPoolFiguresAndLimits() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("a", Duration.ofSeconds(5)).close();

    JsonNode s = JSON.readTree(get(base + "/status").body());
    assertThat(s.path("pool").asText()).isEqualTo("default");
    assertThat(s.path("sessions").asInt()).isEqualTo(1);
    assertThat(s.path("workers").path("busy").asInt()).isEqualTo(1);
    assertThat(s.path("limits").path("max").asInt()).isEqualTo(3);
    assertThat(s.path("counters").path("spawns").asLong()).isEqualTo(1);
    assertThat(s.path("gateway").path("listen").asText()).isEqualTo("http://x");
    assertThat(JSON.readTree(get(base + "/workers").body()).path("workers").get(0)
        .path("session").asText()).isEqualTo("a");
  }

  @Test
  void wrongMethodsAndUnknownRoutesAreRefused() throws Exception {
    String base = startAdmin(Optional.empty());

    HttpResponse<String> post = send("POST", base + "/status", "x");
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("allow")).contains("GET");
    assertThat(send("GET", base + "/sessions/a", null).statusCode()).isEqualTo(405);
    assertThat(get(base + "/nope").statusCode()).isEqualTo(404);
  }

  @Test
  void healthAnswers503WhileDraining() throws Exception {
    String base = startAdmin(Optional.empty());
    assertThat(get(base + "/health").body()).contains("\"ok\"");

    draining.set(true);

    HttpResponse<String> r = get(base + "/health");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("draining");
  }

  @Test
  void metricsAreServedAsPrometheusText() throws Exception {
    String base = startAdmin(Optional.empty());

    HttpResponse<String> r = get(base + "/metrics");

    assertThat(r.headers().firstValue("content-type"))
        .contains("text/plain; version=0.0.4; charset=utf-8");
    assertThat(r.body()).isEqualTo("# metrics\n");
  }
}
