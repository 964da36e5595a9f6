package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.testing.ObjectWorkerFactory;
import io.herd.server.RawHttp;
import io.herd.server.config.AdminConfig;
import io.herd.server.config.HostPort;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's routes in-process over real loopback sockets, in front of a real pool of
 * object workers: the page and its files, the event stream and its token, the drain route, and
 * the custom-header rule for a page's state changes.
 */
class DashboardHttpTest {

  private static final String TOKEN = "0123456789abcdef-token";
  private static final Duration ACQUIRE = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private SessionPool pool;
  private AdminServer admin;
  private String base;
  private Stream<String> stream;

  @BeforeEach
  void start() {
    pool = SessionPool.create(PoolConfig.builder().min(0).max(3).warm(0).build(),
        new ObjectWorkerFactory(URI.create("http://127.0.0.1:1"), OptionalLong.of(4242)));
    admin = AdminServer.start(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.of(TOKEN)),
        new AdminTarget(pool, () -> "# metrics\n", () -> Map.of("listen", "http://x"),
            () -> false, SessionIds.unsigned()));
    base = admin.uri();
  }

  @AfterEach
  void stop() {
    if (stream != null) {
      stream.close();
    }
    admin.close();
    pool.close();
  }

  @Test
  void pageAndItsFilesNeedNoTokenAndAreServedUnderAStrictPolicy() throws Exception {
    HttpResponse<String> page = get(base + "/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
    assertThat(page.headers().firstValue("content-security-policy")).get().asString()
        .contains("script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'")
        .doesNotContain("unsafe");
    assertThat(page.headers().firstValue("x-frame-options")).hasValue("DENY");
    assertThat(page.body()).contains("/dashboard/dashboard.js", "/dashboard/dashboard.css")
        .as("no data in the page itself").doesNotContain("4242");

    HttpResponse<String> script = get(base + "/dashboard/dashboard.js");
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.headers().firstValue("content-type")).get().asString()
        .startsWith("text/javascript");
    assertThat(script.body()).contains("/events", "X-Herd-Admin");
    assertThat(get(base + "/dashboard/dashboard.css").statusCode()).isEqualTo(200);
    assertThat(send("POST", base + "/", "").statusCode()).isEqualTo(405);
  }

  @Test
  void thePageIsBehindTheSameHostGateAsTheApi() throws Exception {
    RawHttp.Response rebound = RawHttp.exchange(base, "GET", "/", null,
        "Host: attacker.example:" + admin.address().getPort());
    assertThat(rebound.status()).as(rebound.body()).isEqualTo(421);
  }

  @Test
  void theEventStreamNeedsTheToken() throws Exception {
    HttpResponse<String> denied = get(base + "/events");
    assertThat(denied.statusCode()).isEqualTo(401);
    assertThat(denied.headers().firstValue("www-authenticate")).isPresent();
    assertThat(get(base + "/events", "Authorization", "Bearer wrong").statusCode())
        .isEqualTo(401);
  }

  @Test
  void theEventStreamSendsSnapshotsAndPoolEventsAsTheyHappen() throws Exception {
    List<String> lines = openStream();
    await().atMost(Duration.ofSeconds(20)).until(() -> lines.contains("event: snapshot"));

    try (SessionLease lease = pool.acquire("alice", ACQUIRE)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> lines.stream()
          .anyMatch(l -> l.startsWith("data: ") && l.contains("\"sessionStarted\"")
              && l.contains("\"alice\"")));
    }
    pool.end("alice");
    await().atMost(Duration.ofSeconds(20)).until(() -> lines.stream()
        .anyMatch(l -> l.contains("\"sessionEnded\"") && l.contains("\"RELEASED\"")));

    JsonNode snapshot = null;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).equals("event: snapshot")) {
        snapshot = JSON.readTree(lines.get(i + 1).substring("data: ".length()));
      }
    }
    assertThat(snapshot).isNotNull();
    assertThat(snapshot.path("pools").get(0).path("name").asText()).isEqualTo("default");
    assertThat(snapshot.path("gateway").path("listen").asText()).isEqualTo("http://x");
  }

  @Test
  void aStreamOpenedLaterStillShowsRecentEvents() throws Exception {
    pool.acquire("early", ACQUIRE).close();
    List<String> lines = openStream();
    await().atMost(Duration.ofSeconds(20)).until(() -> lines.stream()
        .anyMatch(l -> l.contains("\"sessionStarted\"") && l.contains("\"early\"")));
  }

  @Test
  void drainTakesAWorkerOutOfServiceAndUnknownIdsAre404() throws Exception {
    String id;
    try (SessionLease lease = pool.acquire("alice", ACQUIRE)) {
      id = lease.worker().id();
    }
    HttpResponse<String> drained = send("POST", base + "/workers/" + id + "/drain", "",
        "Authorization", "Bearer " + TOKEN);
    assertThat(drained.statusCode()).as(drained.body()).isEqualTo(200);
    JsonNode workers = JSON.readTree(get(base + "/workers", "Authorization", "Bearer " + TOKEN)
        .body()).path("workers");
    assertThat(workers.get(0).path("draining").asBoolean()).isTrue();

    assertThat(send("POST", base + "/workers/" + id + "/drain", "").statusCode())
        .as("without the token").isEqualTo(401);
    HttpResponse<String> unknown = send("POST", base + "/workers/w-99/drain", "",
        "Authorization", "Bearer " + TOKEN);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.body()).contains("no such worker: w-99");
    assertThat(send("GET", base + "/workers/" + id + "/drain", null,
        "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(405);
  }

  @Test
  void aPagesDrainNeedsTheCustomHeader() throws Exception {
    String id;
    try (SessionLease lease = pool.acquire("alice", ACQUIRE)) {
      id = lease.worker().id();
    }
    String host = "Host: 127.0.0.1:" + admin.address().getPort();
    String origin = "Origin: http://127.0.0.1:" + admin.address().getPort();
    RawHttp.Response forged = RawHttp.exchange(base, "POST", "/workers/" + id + "/drain", "",
        host, origin, "Authorization: Bearer " + TOKEN);
    assertThat(forged.status()).as(forged.body()).isEqualTo(403);
    assertThat(pool.workers().get(0).draining()).isFalse();

    RawHttp.Response fromDashboard = RawHttp.exchange(base, "POST", "/workers/" + id + "/drain",
        "", host, origin, "Authorization: Bearer " + TOKEN, "X-Herd-Admin: 1");
    assertThat(fromDashboard.status()).as(fromDashboard.body()).isEqualTo(200);
  }

  /** Opens {@code GET /events} with the token; lines arrive in the returned list. */
  private List<String> openStream() {
    List<String> lines = new CopyOnWriteArrayList<>();
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/events"))
        .header("Authorization", "Bearer " + TOKEN).build();
    HttpResponse<Stream<String>> resp = HttpClient.newHttpClient()
        .sendAsync(req, HttpResponse.BodyHandlers.ofLines()).join();
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.headers().firstValue("content-type")).get().asString()
        .startsWith("text/event-stream");
    stream = resp.body();
    Thread reader = new Thread(() -> {
      try {
        stream.forEach(lines::add);
      } catch (RuntimeException e) {
        // closed by the test
      }
    }, "sse-reader");
    reader.setDaemon(true);
    reader.start();
    return lines;
  }
}
