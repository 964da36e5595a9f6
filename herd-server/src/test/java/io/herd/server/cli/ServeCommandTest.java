package io.herd.server.cli;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.parsePrometheus;
import static io.herd.server.HttpClients.send;
import static io.herd.server.HttpClients.sum;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.proxy.SessionKeySigner;
import io.herd.server.HerdProcess;
import io.herd.server.config.DurationFormat;
import io.herd.server.TestConfigs;
import io.herd.testkit.Processes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.InetAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * {@code herd serve --config} end to end, in a subprocess as users run it, with the testkit's
 * TestWorker processes behind it: routing by each key rule, the admin API, metrics, {@code herd
 * status}, and SIGTERM leaving nothing behind.
 */
class ServeCommandTest {

  private static final Duration START = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  @Test
  void servesRoutesReportsAndStopsCleanlyOnSigterm() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);

      long alice = Long.parseLong(get(base + "/pid", "X-Session-ID", "alice").body());
      long bob = Long.parseLong(get(base + "/pid", "X-Session-ID", "bob").body());
      assertThat(Long.parseLong(get(base + "/pid", "X-Session-ID", "alice").body()))
          .as("same key, same worker").isEqualTo(alice);
      assertThat(bob).as("another key, another worker").isNotEqualTo(alice);
      assertThat(get(base + "/count", "X-Session-ID", "alice").body()).isEqualTo("1");
      assertThat(get(base + "/count", "X-Session-ID", "alice").body()).isEqualTo("2");

      JsonNode status = JSON.readTree(get(admin + "/status").body());
      assertThat(status.path("sessions").asInt()).isEqualTo(2);
      assertThat(status.path("workers").path("busy").asInt()).isEqualTo(2);
      assertThat(status.path("limits").path("max").asInt()).isEqualTo(4);
      assertThat(status.path("gateway").path("listen").asText()).isEqualTo(base);

      JsonNode sessions = JSON.readTree(get(admin + "/sessions").body()).path("sessions");
      assertThat(sessions).hasSize(2);
      JsonNode aliceSession = find(sessions, "alice");
      long aliceLauncher = aliceSession.path("pid").asLong();
      assertThat(ProcessHandle.of(aliceLauncher).orElseThrow().children()
          .map(ProcessHandle::pid).toList())
          .as("the pid reported is herd-launch's, which supervises the worker it forked")
          .containsExactly(alice);
      assertThat(aliceSession.path("workerId").asText()).startsWith("w-");
      assertThat(aliceSession.path("openLeases").asInt()).isZero();
      assertThat(aliceSession.path("ageMs").isIntegralNumber()).as("ageMs is there").isTrue();
      assertThat(aliceSession.path("ageMs").asLong()).isNotNegative();
      assertThat(aliceSession.path("idleMs").isIntegralNumber()).as("idleMs is there").isTrue();

      JsonNode workers = JSON.readTree(get(admin + "/workers").body()).path("workers");
      assertThat(workers.findValuesAsText("session")).contains("alice", "bob");

      StringWriter table = new StringWriter();
      CommandLine cli = HerdCommand.commandLine();
      cli.setOut(new PrintWriter(table));
      assertThat(cli.execute("status", "--admin", admin)).isZero();
      assertThat(table.toString())
          .contains("SESSION", "WORKER", "PID", "alice", "bob", Long.toString(aliceLauncher));
      StringWriter json = new StringWriter();
      CommandLine jsonCli = HerdCommand.commandLine();
      jsonCli.setOut(new PrintWriter(json));
      assertThat(jsonCli.execute("status", "--admin", admin, "--json")).isZero();
      JsonNode all = JSON.readTree(json.toString());
      assertThat(all.path("status").path("sessions").asInt()).isEqualTo(2);
      assertThat(all.path("sessions")).hasSize(2);
      assertThat(all.path("workers").size()).isGreaterThanOrEqualTo(2);

      HttpResponse<String> deleted = send("DELETE", admin + "/sessions/alice", null);
      assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
      assertThat(Processes.awaitGone(alice, Duration.ofSeconds(30)))
          .as("reuse: false, so ending the session stops its worker").isTrue();
      assertThat(send("DELETE", admin + "/sessions/alice", null).statusCode()).isEqualTo(404);
      assertThat(JSON.readTree(get(admin + "/sessions").body()).path("sessions")).hasSize(1);
      long aliceAgain = Long.parseLong(get(base + "/pid", "X-Session-ID", "alice").body());
      assertThat(aliceAgain).as("a new session, a new worker").isNotEqualTo(alice);

      assertThat(get(base + "/pid").statusCode()).as("no session key").isEqualTo(400);
      HttpResponse<String> metrics = get(admin + "/metrics");
      assertThat(metrics.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
      Map<String, Double> m = parsePrometheus(metrics.body());
      assertThat(sum(m, "herd_pool_sessions")).isEqualTo(2);
      assertThat(sum(m, "herd_pool_workers", "state=\"busy\"")).isEqualTo(2);
      assertThat(sum(m, "herd_pool_queue_depth")).isZero();
      assertThat(sum(m, "herd_sessions_started_total")).isEqualTo(3);
      assertThat(sum(m, "herd_sessions_ended_total", "reason=\"released\"")).isEqualTo(1);
      assertThat(sum(m, "herd_pool_acquire_seconds_count", "outcome=\"ok\"",
          "session=\"new\"")).isEqualTo(3);
      assertThat(sum(m, "herd_pool_acquire_seconds_count", "session=\"pinned\""))
          .isGreaterThanOrEqualTo(3);
      assertThat(sum(m, "herd_pool_acquire_seconds_bucket")).as("a histogram").isPositive();
      assertThat(sum(m, "herd_worker_spawn_seconds_count", "outcome=\"ok\""))
          .isGreaterThanOrEqualTo(3);
      assertThat(sum(m, "herd_pool_crashes_total")).isZero();
      assertThat(sum(m, "herd_gateway_requests_seconds_count", "status=\"200\"",
          "method=\"GET\"")).as("requests by status").isGreaterThanOrEqualTo(6);
      assertThat(sum(m, "herd_gateway_requests_seconds_count", "status=\"400\""))
          .as("the gateway's own answers count too").isEqualTo(1);
      assertThat(sum(m, "herd_gateway_requests_seconds_bucket", "status=\"200\""))
          .as("a latency histogram").isPositive();
      assertThat(m).containsKeys("herd_pool_evictions_total{pool=\"default\"}",
          "herd_pool_expirations_total{pool=\"default\"}");

      List<Long> workerPids = herd.descendants().stream().map(ProcessHandle::pid).toList();
      assertThat(workerPids).contains(bob, aliceAgain);
      CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> {
        try {
          return get(base + "/sleep?ms=1500", "X-Session-ID", "bob");
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      });
      herd.awaitLine("\\[w-\\d+\\] GET /sleep", Duration.ofSeconds(30));
      // Shutdown takes at most drainTimeout (5s) + stopTimeout (5s) plus JVM exit; the bound is
      // generous so that a loaded machine does not fail it, and a hang still does.
      assertThat(herd.terminate(Duration.ofSeconds(60))).as(herd.transcript()).isZero();
      assertThat(inFlight.get(30, TimeUnit.SECONDS).body())
          .as("an exchange in flight at SIGTERM finishes (drain)").isEqualTo("slept");
      assertThat(herd.survivors()).as("no worker survives SIGTERM").isEmpty();
      assertThat(herd.stderr()).anyMatch(l -> l.contains("received SIGTERM: shutting down"))
          .anyMatch(l -> l.contains("herd stopped in"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "cookie:sid, cookie, Cookie, sid=",
      "query:session, query, , ",
      "path:0:strip, path, , "})
  void routesByEachKeyRule(String rule, String kind, String header, String prefix)
      throws Exception {
    Path config = TestConfigs.write(dir, rule, "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString(),
        "--log-format", "json")) {
      String base = herd.awaitServing(START);

      long a1 = pid(base, kind, header, prefix, "alice");
      long b1 = pid(base, kind, header, prefix, "bob");
      long a2 = pid(base, kind, header, prefix, "alice");
      assertThat(a2).as("%s: same key, same worker", rule).isEqualTo(a1);
      assertThat(b1).as("%s: another key, another worker", rule).isNotEqualTo(a1);

      assertThat(herd.interrupt(Duration.ofSeconds(20))).as("SIGINT, like Ctrl-C").isZero();
      assertThat(herd.survivors()).isEmpty();
      // --log-format json: every log line is one JSON object; worker output names its worker
      for (String line : herd.stderr()) {
        assertThat(JSON.readTree(line).path("level").asText()).as(line).isNotEmpty();
      }
      assertThat(herd.stderr()).anySatisfy(line -> {
        JsonNode n = JSON.readTree(line);
        assertThat(n.path("worker").asText()).startsWith("w-");
        assertThat(n.path("message").asText()).startsWith("listening on");
      });
    }
  }

  @Test
  void adminTokenFromTheEnvironmentIsRequiredByStatusAndTheApi() throws Exception {
    String token = "t0ken-from-the-environment";
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    Files.writeString(config, Files.readString(config)
        .replace("admin: { listen: 127.0.0.1:0 }",
            "admin: { listen: 127.0.0.1:0, token: ${HERD_TOKEN} }")
        .replace("session: { key: ", "session: { secret: literal-secret-0123456789, key: "));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
    try (HerdProcess herd = HerdProcess.start(Map.of("HERD_TOKEN", token), "serve", "--config",
        config.toString())) {
      herd.awaitServing(START);
      String admin = herd.adminUri(START);
      assertThat(herd.stderr()).as("serve warns about the literal secret, not the reference")
          .anyMatch(l -> l.contains("warning: session.secret is a literal secret in a file other"
              + " users can read: " + config + " (rw-r--r--) (expected: chmod 600 " + config))
          .noneMatch(l -> l.contains("admin.token is a literal secret"))
          .noneMatch(l -> l.contains("literal-secret-0123456789"));

      assertThat(get(admin + "/status").statusCode()).isEqualTo(401);
      assertThat(get(admin + "/health").statusCode()).isEqualTo(200);
      StringWriter err = new StringWriter();
      CommandLine denied = HerdCommand.commandLine();
      denied.setErr(new PrintWriter(err));
      assertThat(denied.execute("status", "--admin", admin, "--token", "wrong-token-wrong"))
          .isEqualTo(ExitCodes.FAILURE);
      assertThat(err.toString()).contains("401 unauthorized");
      StringWriter out = new StringWriter();
      CommandLine allowed = HerdCommand.commandLine();
      allowed.setOut(new PrintWriter(out));
      assertThat(allowed.execute("status", "--admin", admin, "--token", token)).isZero();
      assertThat(out.toString()).contains("pool default:");
      assertThat(herd.terminate(Duration.ofSeconds(20))).isZero();
    }
  }

  @Test
  void signedKeysAreShownByTheirIdInTheApiStatusAndLogs() throws Exception {
    String secret = "0123456789abcdef-signing";
    SessionKeySigner signer = new SessionKeySigner(secret.getBytes(StandardCharsets.UTF_8));
    String key = signer.sign("alice");
    String signature = key.substring("alice.".length());
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    Files.writeString(config, Files.readString(config).replace("session: { key: ",
        "session: { secret: ${HERD_TEST_SECRET}, key: "));
    try (HerdProcess herd = HerdProcess.start(Map.of("HERD_TEST_SECRET", secret), "serve",
        "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      long server = Long.parseLong(get(base + "/pid", "X-Session-ID", key).body());
      long pid = ProcessHandle.of(server).flatMap(ProcessHandle::parent).orElseThrow().pid();

      String sessions = get(admin + "/sessions").body();
      String workers = get(admin + "/workers").body();
      assertThat(JSON.readTree(sessions).path("sessions").findValuesAsText("key"))
          .containsExactly("alice");
      assertThat(JSON.readTree(workers).path("workers").findValuesAsText("session"))
          .contains("alice");
      StringWriter table = new StringWriter();
      CommandLine cli = HerdCommand.commandLine();
      cli.setOut(new PrintWriter(table));
      assertThat(cli.execute("status", "--admin", admin)).isZero();
      assertThat(table.toString()).contains("alice", Long.toString(pid));

      HttpResponse<String> deleted = send("DELETE", admin + "/sessions/alice", null);
      assertThat(deleted.statusCode()).as("the shown id ends the session").isEqualTo(200);
      assertThat(herd.terminate(Duration.ofSeconds(60))).as(herd.transcript()).isZero();
      assertThat(sessions + workers + table + deleted.body() + herd.transcript())
          .as("no answer, table or log line carries the signed key").doesNotContain(signature)
          .contains("session alice started on worker");
    }
  }

  @Test
  void portInUseIsARuntimeFailureAndLeavesNoWorker() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
      try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString(),
          "--listen", "127.0.0.1:" + busy.getLocalPort())) {
        assertThat(herd.awaitExit(START)).as(herd.transcript()).isEqualTo(ExitCodes.FAILURE);
        assertThat(herd.stderr()).anyMatch(l -> l.contains("herd cannot start: listen cannot bind"
            + " 127.0.0.1:" + busy.getLocalPort() + ": ") && l.contains("--listen picks another"));
        assertThat(herd.survivors()).isEmpty();
      }
    }
  }

  @Test
  void invalidConfigExitsTwoAndListsEveryProblem() throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(config, "pool:\n  max: 0\n  ttl: forever\n");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      assertThat(herd.awaitExit(START)).isEqualTo(ExitCodes.USAGE);
      assertThat(herd.stderr()).contains(
          config + ":1: worker.command is missing: none (expected: a program and its arguments,"
              + " e.g. [python3, app.py, --port, \"{{port}}\"]; or worker.vm with an image to"
              + " boot, see docs/vm.md)",
          config + ":2: pool.max is too small: 0 (expected: >= 1)",
          config + ":3: pool.ttl is not a duration: forever (expected: "
                + DurationFormat.EXPECTED + ")");
    }
  }

  private static long pid(String base, String kind, String header, String prefix, String key)
      throws Exception {
    HttpResponse<String> r;
    switch (kind) {
      case "cookie":
        r = get(base + "/pid", header, prefix + key);
        break;
      case "query":
        r = get(base + "/pid?session=" + key);
        break;
      default:
        r = get(base + "/" + key + "/pid");
    }
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Long.parseLong(r.body().trim());
  }

  private static JsonNode find(JsonNode sessions, String key) {
    for (JsonNode s : sessions) {
      if (s.path("key").asText().equals(key)) {
        return s;
      }
    }
    throw new AssertionError("no session " + key + " in " + sessions);
  }
}
