package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.cluster.ClusterCounters;
import io.herd.cluster.ClusterNode;
import io.herd.cluster.ClusterState;
import io.herd.cluster.ClusterStatus;
import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.SessionInfo;
import io.herd.core.testing.ObjectWorkerFactory;
import io.herd.proxy.SessionKeySigner;
import io.herd.server.RawHttp;
import io.herd.server.config.AdminConfig;
import io.herd.server.config.HostPort;
import io.herd.server.config.WebOrigin;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin API in-process, over real loopback sockets, in front of a real pool whose workers are
 * plain objects: routes, the token, the Host/Origin/fetch-metadata gate, how sessions are named,
 * and how a key in a path is decoded.
 */
class AdminServerTest {

  private static final String TOKEN = "0123456789abcdef-token";
  /** Workers are objects, so acquires are immediate; the bound only matters on failure. */
  private static final Duration ACQUIRE = Duration.ofSeconds(30);
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
    return startAdmin(new AdminConfig(new HostPort("127.0.0.1", 0), token), SessionIds.unsigned());
  }

  private String startAdmin(AdminConfig config, SessionIds ids) {
    admin = AdminServer.start(config, new AdminTarget(pool, () -> "# metrics\n",
        () -> Map.of("listen", "http://x"), draining::get, ids));
    return admin.uri();
  }

  private int port() {
    return admin.address().getPort();
  }

  private List<String> liveKeys() {
    return pool.sessions().stream().map(SessionInfo::key).toList();
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
    SessionLease lease = pool.acquire("user/1", ACQUIRE);

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
    pool.acquire("a", ACQUIRE).close();

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

  // --- a gateway in a cluster -----------------------------------------------------------------

  /** The cluster as {@link ClusterView} reports it; each test sets the state it is about. */
  private final AtomicReference<ClusterState> clusterState =
      new AtomicReference<>(ClusterState.CONNECTED);

  private String startClusterAdmin() {
    ClusterView view = new ClusterView(
        () -> new ClusterStatus(clusterState.get(), "gw-1", List.of(
            new ClusterNode("gw-1", URI.create("http://10.0.0.1:8080"), 2, 3, true),
            new ClusterNode("gw-2", URI.create("http://10.0.0.2:8080"), 5, 8, false))),
        () -> new ClusterCounters(7, 1, 4, 0, 2),
        key -> key.equals("remote") ? Optional.of("gw-2") : Optional.empty());
    admin = AdminServer.start(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.empty()),
        new AdminTarget(pool, () -> "# metrics\n", () -> Map.of("listen", "http://x"),
            draining::get, SessionIds.unsigned(), Optional.of(view)));
    return admin.uri();
  }

  @Test
  void clusterRouteListsStateNodesAndCounters() throws Exception {
    String base = startClusterAdmin();

    JsonNode c = JSON.readTree(get(base + "/cluster").body());

    assertThat(c.path("state").asText()).isEqualTo("CONNECTED");
    assertThat(c.path("node").asText()).isEqualTo("gw-1");
    assertThat(c.path("nodes")).hasSize(2);
    JsonNode peer = c.path("nodes").get(1);
    assertThat(peer.path("name").asText()).isEqualTo("gw-2");
    assertThat(peer.path("advertise").asText()).isEqualTo("http://10.0.0.2:8080");
    assertThat(peer.path("free").asInt()).isEqualTo(5);
    assertThat(peer.path("max").asInt()).isEqualTo(8);
    assertThat(peer.path("self").asBoolean()).isFalse();
    assertThat(c.path("nodes").get(0).path("self").asBoolean()).isTrue();
    JsonNode counters = c.path("counters");
    assertThat(List.of(counters.path("claims").asLong(), counters.path("claimConflicts").asLong(),
        counters.path("forwarded").asLong(), counters.path("leaseLosses").asLong(),
        counters.path("sessionsLost").asLong())).containsExactly(7L, 1L, 4L, 0L, 2L);
    JsonNode status = JSON.readTree(get(base + "/status").body()).path("cluster");
    assertThat(status.path("state").asText()).isEqualTo("CONNECTED");
    assertThat(status.path("nodeCount").asInt()).isEqualTo(2);
  }

  @Test
  void withoutAClusterTheClusterRouteIs404AndOwnersAndStateAreNull() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("a", ACQUIRE).close();

    HttpResponse<String> r = get(base + "/cluster");

    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("not in a cluster");
    assertThat(JSON.readTree(get(base + "/status").body()).path("cluster").isNull()).isTrue();
    assertThat(JSON.readTree(get(base + "/sessions").body()).path("sessions").get(0)
        .path("owner").isNull()).isTrue();
  }

  @Test
  void sessionsOfAClusterGatewayNameItAsTheirOwner() throws Exception {
    String base = startClusterAdmin();
    pool.acquire("alice", ACQUIRE).close();

    JsonNode session = JSON.readTree(get(base + "/sessions").body()).path("sessions").get(0);

    assertThat(session.path("key").asText()).isEqualTo("alice");
    assertThat(session.path("owner").asText()).isEqualTo("gw-1");
  }

  @Test
  void endingASessionAnotherGatewayServesNamesThatGateway() throws Exception {
    String base = startClusterAdmin();

    HttpResponse<String> remote = send("DELETE", base + "/sessions/remote", null);
    HttpResponse<String> unknown = send("DELETE", base + "/sessions/nobody", null);

    assertThat(remote.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(remote.body()).path("error").asText()).isEqualTo("no such session"
        + " on this gateway: remote (expected: end it through the admin API of gateway gw-2,"
        + " which serves it)");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknown.body()).path("error").asText())
        .isEqualTo("no such session: nobody");
  }

  @Test
  void healthFollowsTheClusterStateDegradedServesFencedDoesNot() throws Exception {
    String base = startClusterAdmin();
    Map<ClusterState, Integer> codes = new EnumMap<>(ClusterState.class);
    Map<ClusterState, String> words = new EnumMap<>(ClusterState.class);

    for (ClusterState state : ClusterState.values()) {
      clusterState.set(state);
      HttpResponse<String> r = get(base + "/health");
      codes.put(state, r.statusCode());
      words.put(state, JSON.readTree(r.body()).path("status").asText());
    }
    draining.set(true);
    HttpResponse<String> drainingAnswer = get(base + "/health");

    assertThat(codes).containsExactlyInAnyOrderEntriesOf(Map.of(ClusterState.CONNECTED, 200,
        ClusterState.DEGRADED, 200, ClusterState.FENCED, 503));
    assertThat(words).containsEntry(ClusterState.CONNECTED, "ok")
        .containsEntry(ClusterState.DEGRADED, "degraded")
        .containsEntry(ClusterState.FENCED, "fenced");
    assertThat(drainingAnswer.statusCode()).isEqualTo(503);
    assertThat(drainingAnswer.body()).contains("draining");
  }

  @Test
  void metricsAreServedAsPrometheusText() throws Exception {
    String base = startAdmin(Optional.empty());

    HttpResponse<String> r = get(base + "/metrics");

    assertThat(r.headers().firstValue("content-type"))
        .contains("text/plain; version=0.0.4; charset=utf-8");
    assertThat(r.body()).isEqualTo("# metrics\n");
  }

  // --- DNS rebinding and cross-site requests -------------------------------------------------

  @Test
  void rebindingPageWithItsOwnHostAndMatchingOriginIsRefusedAndListsNoSession() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("alice", ACQUIRE).close();

    RawHttp.Response r = RawHttp.exchange(base, "GET", "/sessions", null,
        "Host: attacker.example:" + port(), "Origin: http://attacker.example:" + port());

    assertThat(r.status()).as(r.body()).isEqualTo(421);
    assertThat(r.body()).doesNotContain("alice")
        .contains("Host attacker.example:" + port()).contains("admin.hosts");
    assertThat(r.headers()).containsEntry("content-type", "text/plain; charset=utf-8")
        .containsEntry("connection", "close");
    for (String route : List.of("/status", "/workers", "/metrics", "/health")) {
      assertThat(RawHttp.exchange(base, "GET", route, null, "Host: attacker.example").status())
          .as("every route: %s", route).isEqualTo(421);
    }
  }

  @Test
  void rebindingPageCannotEndASession() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("alice", ACQUIRE).close();

    RawHttp.Response r = RawHttp.exchange(base, "DELETE", "/sessions/alice", null,
        "Host: attacker.example:" + port(), "Origin: http://attacker.example:" + port());

    assertThat(r.status()).as(r.body()).isEqualTo(421);
    assertThat(liveKeys()).as("the session lives on").containsExactly("alice");
  }

  @Test
  void loopbackNamesTheListenAddressAndConfiguredHostsAreAcceptedOnAnyPort() throws Exception {
    String base = startAdmin(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.empty(),
        List.of("herd.internal", "10.9.8.7"), List.of()), SessionIds.unsigned());

    for (String host : List.of("localhost", "LOCALHOST:" + port(), "127.0.0.1", "127.0.0.1:"
        + port(), "[::1]:" + port(), "[::1]", "127.0.0.2:1", "herd.internal:8443",
        "Herd.Internal", "10.9.8.7:9090")) {
      RawHttp.Response r = RawHttp.exchange(base, "GET", "/status", null, "Host: " + host);
      assertThat(r.status()).as("Host: %s -> %s", host, r.body()).isEqualTo(200);
    }
    for (String host : List.of("other.internal", "herd.internal.attacker.example",
        "localhost.attacker.example", "10.9.8.6", "0.0.0.0:" + port(), "[::1", "a b")) {
      RawHttp.Response r = RawHttp.exchange(base, "GET", "/status", null, "Host: " + host);
      assertThat(r.status()).as("Host: %s -> %s", host, r.body()).isEqualTo(421);
    }
  }

  @Test
  void requestWithoutExactlyOneHostIsRefused() throws Exception {
    String base = startAdmin(Optional.empty());

    RawHttp.Response none = RawHttp.exchange(base, "GET", "/status", null);
    RawHttp.Response two = RawHttp.exchange(base, "GET", "/status", null,
        "Host: 127.0.0.1", "Host: attacker.example");

    assertThat(none.status()).as(none.body()).isEqualTo(400);
    assertThat(two.status()).as(two.body()).isEqualTo(400);
    assertThat(two.body()).contains("exactly one Host header");
  }

  @Test
  void pagesOfOtherOriginsAreRefusedEvenWithALoopbackHost() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("alice", ACQUIRE).close();
    String host = "Host: 127.0.0.1:" + port();

    for (String origin : List.of("http://attacker.example", "http://127.0.0.1:8080",
        "https://127.0.0.1:" + port(), "null", "file://")) {
      RawHttp.Response r = RawHttp.exchange(base, "GET", "/sessions", null, host,
          "Origin: " + origin);
      assertThat(r.status()).as("Origin: %s -> %s", origin, r.body()).isEqualTo(403);
      assertThat(r.body()).doesNotContain("alice").contains("admin.origins");
    }
    RawHttp.Response delete = RawHttp.exchange(base, "DELETE", "/sessions/alice", null, host,
        "Origin: http://127.0.0.1:8080");
    assertThat(delete.status()).as(delete.body()).isEqualTo(403);
    assertThat(liveKeys()).containsExactly("alice");

    RawHttp.Response own = RawHttp.exchange(base, "GET", "/sessions", null, host,
        "Origin: http://127.0.0.1:" + port(), "Sec-Fetch-Site: same-origin");
    assertThat(own.status()).as("the admin's own origin: %s", own.body()).isEqualTo(200);
    assertThat(own.body()).contains("alice");
  }

  @Test
  void crossSiteStateChangeIsRefusedEvenWithoutAnOrigin() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("alice", ACQUIRE).close();
    String host = "Host: localhost:" + port();

    for (String site : List.of("cross-site", "same-site")) {
      RawHttp.Response r = RawHttp.exchange(base, "DELETE", "/sessions/alice", null, host,
          "Sec-Fetch-Site: " + site);
      assertThat(r.status()).as("%s -> %s", site, r.body()).isEqualTo(403);
      RawHttp.Response read = RawHttp.exchange(base, "GET", "/sessions", null, host,
          "Sec-Fetch-Site: " + site, "Sec-Fetch-Mode: no-cors");
      assertThat(read.status()).as("%s subresource -> %s", site, read.body()).isEqualTo(403);
    }
    assertThat(liveKeys()).containsExactly("alice");

    RawHttp.Response link = RawHttp.exchange(base, "GET", "/status", null, host,
        "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate");
    assertThat(link.status()).as("a followed link reads nothing cross-site").isEqualTo(200);
    RawHttp.Response noHeader = RawHttp.exchange(base, "DELETE", "/sessions/alice", null, host,
        "Origin: http://localhost:" + port(), "Sec-Fetch-Site: same-origin");
    assertThat(noHeader.status()).as("a page's change without the custom header: %s",
        noHeader.body()).isEqualTo(403);
    assertThat(noHeader.body()).contains("X-Herd-Admin: 1");
    assertThat(liveKeys()).containsExactly("alice");
    RawHttp.Response sameOrigin = RawHttp.exchange(base, "DELETE", "/sessions/alice", null, host,
        "Origin: http://localhost:" + port(), "Sec-Fetch-Site: same-origin", "X-Herd-Admin: 1");
    assertThat(sameOrigin.status()).as(sameOrigin.body()).isEqualTo(200);
    assertThat(liveKeys()).isEmpty();
  }

  @Test
  void configuredOriginMayCallTheApiCrossSite() throws Exception {
    String base = startAdmin(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.empty(),
        List.of(), List.of(WebOrigin.parse("https://ops.example"))), SessionIds.unsigned());
    pool.acquire("alice", ACQUIRE).close();

    RawHttp.Response r = RawHttp.exchange(base, "DELETE", "/sessions/alice", null,
        "Host: 127.0.0.1:" + port(), "Origin: https://ops.example:443",
        "Sec-Fetch-Site: cross-site", "X-Herd-Admin: 1");

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(liveKeys()).isEmpty();
  }

  @Test
  void absoluteFormTargetIsRefused() throws Exception {
    String base = startAdmin(Optional.empty());

    RawHttp.Response r = RawHttp.exchange(base, "GET", "http://attacker.example/status", null,
        "Host: 127.0.0.1");

    assertThat(r.status()).as(r.body()).isEqualTo(400);
  }

  // --- how sessions are named ----------------------------------------------------------------

  @Test
  void signedKeysAreListedByTheirIdAndNeverInFull() throws Exception {
    SessionKeySigner signer =
        new SessionKeySigner("0123456789abcdef0123".getBytes(StandardCharsets.UTF_8));
    String base = startAdmin(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.empty()),
        SessionIds.of(Optional.of(signer)));
    String aliceKey = signer.sign("alice");
    String signature = aliceKey.substring("alice.".length());
    pool.acquire(aliceKey, ACQUIRE).close(); // a pool keyed by full keys
    pool.acquire("bob", ACQUIRE).close(); // a pool keyed by ids

    String sessions = get(base + "/sessions").body();
    String workers = get(base + "/workers").body();

    assertThat(JSON.readTree(sessions).path("sessions").findValuesAsText("key"))
        .containsExactlyInAnyOrder("alice", "bob");
    assertThat(JSON.readTree(workers).path("workers").findValuesAsText("session"))
        .containsExactlyInAnyOrder("alice", "bob");
    assertThat(sessions + workers).as("no signature is ever returned").doesNotContain(signature);

    HttpResponse<String> ended = send("DELETE", base + "/sessions/" + aliceKey, null);
    assertThat(ended.statusCode()).as(ended.body()).isEqualTo(200);
    assertThat(ended.body()).doesNotContain(signature);
    assertThat(liveKeys()).containsExactly("bob");
    assertThat(send("DELETE", base + "/sessions/" + signer.sign("bob"), null).statusCode())
        .as("a full key names its session too").isEqualTo(200);
    assertThat(liveKeys()).isEmpty();
    SessionKeySigner expiring = new SessionKeySigner(
        "0123456789abcdef0123".getBytes(StandardCharsets.UTF_8), java.time.Duration.ofHours(1),
        java.time.Clock.systemUTC());
    String carolKey = expiring.sign("carol");
    pool.acquire("carol", ACQUIRE).close();
    assertThat(send("DELETE", base + "/sessions/" + carolKey, null).statusCode())
        .as("a key with an expiry (id.expiry.sig) names its id's session").isEqualTo(200);
    assertThat(liveKeys()).isEmpty();
  }

  // --- decoding ------------------------------------------------------------------------------

  @Test
  void keyInThePathIsDecodedExactlyOnce() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("a/b", ACQUIRE).close();
    pool.acquire("a%2Fb", ACQUIRE).close();

    HttpResponse<String> encodedTwice = send("DELETE", base + "/sessions/a%252Fb", null);

    assertThat(encodedTwice.statusCode()).as(encodedTwice.body()).isEqualTo(200);
    assertThat(JSON.readTree(encodedTwice.body()).path("key").asText()).isEqualTo("a%2Fb");
    assertThat(liveKeys()).as("a%252Fb names a%2Fb, not a/b").containsExactly("a/b");

    HttpResponse<String> encodedOnce = send("DELETE", base + "/sessions/a%2Fb", null);

    assertThat(encodedOnce.statusCode()).as(encodedOnce.body()).isEqualTo(200);
    assertThat(JSON.readTree(encodedOnce.body()).path("key").asText()).isEqualTo("a/b");
    assertThat(liveKeys()).isEmpty();
  }

  @Test
  void plusInAKeyIsAPlusAndBadEscapesAreRefused() throws Exception {
    String base = startAdmin(Optional.empty());
    pool.acquire("a+b", ACQUIRE).close();
    pool.acquire("a b", ACQUIRE).close();

    assertThat(send("DELETE", base + "/sessions/a+b", null).statusCode()).isEqualTo(200);
    assertThat(liveKeys()).containsExactly("a b");
    RawHttp.Response bad = RawHttp.exchange(base, "DELETE", "/sessions/a%2", null,
        "Host: 127.0.0.1");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.body()).contains("percent-encoded");
    assertThat(send("DELETE", base + "/sessions/%C3%28", null).statusCode())
        .as("not UTF-8").isEqualTo(400);
    assertThat(send("DELETE", base + "/sessions/a%20b", null).statusCode()).isEqualTo(200);
  }
}
