package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.testkit.TestWorkerCommand;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probes of a real {@code herd serve} whose worker command fails to start: {@code
 * /health/ready} (and {@code /health}) turn 503 with the spawn error after three failed spawns in
 * a row, {@code /health/live} stays 200, and readiness comes back once a spawn succeeds.
 */
class HealthProbesTest {

  private static final Duration START = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  @Test
  void notReadyAfterRepeatedSpawnFailuresUntilASpawnSucceeds() throws Exception {
    Path marker = dir.resolve("worker-may-start");
    // Fails to start (exit 3, a message on stderr) until the marker exists, then runs TestWorker.
    List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c",
        "test -e \"$0\" || { echo 'worker cannot start: no marker' >&2; exit 3; }; exec \"$@\"",
        marker.toString()));
    argv.addAll(TestWorkerCommand.argv());
    String command = argv.stream().map(TestConfigs::quote)
        .collect(Collectors.joining(", ", "[", "]"));
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    String yaml = Files.readString(config)
        .replace("  command: " + TestConfigs.testWorkerCommand() + "\n",
            "  command: " + command + "\n")
        .replace("pool: { min: 0, max: 4, warm: 1, ttl: 5m, reuse: false }",
            "pool: { min: 1, max: 2, warm: 1, ttl: 5m, spawnBackoffInitial: 100ms,"
                + " spawnBackoffMax: 500ms }");
    assertThat(yaml).contains(marker.toString()).contains("spawnBackoffMax");
    Files.writeString(config, yaml);

    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      herd.awaitServing(START);
      String admin = herd.adminUri(START);

      await().atMost(START).untilAsserted(() -> {
        HttpResponse<String> ready = get(admin + "/health/ready");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(503);
        JsonNode body = JSON.readTree(ready.body());
        assertThat(body.path("status").asText()).isEqualTo("not_ready");
        assertThat(body.path("reason").asText())
            .matches("last \\d+ worker spawns failed: .+");
      });
      HttpResponse<String> legacy = get(admin + "/health");
      assertThat(legacy.statusCode()).as("/health no longer says ok").isEqualTo(503);
      assertThat(JSON.readTree(legacy.body()).path("reason").asText())
          .contains("worker spawns failed");
      HttpResponse<String> live = get(admin + "/health/live");
      assertThat(live.statusCode()).as("the process itself is fine").isEqualTo(200);
      assertThat(JSON.readTree(live.body()).path("status").asText()).isEqualTo("ok");

      Files.writeString(marker, "");
      await().atMost(START).untilAsserted(() -> {
        HttpResponse<String> ready = get(admin + "/health/ready");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        assertThat(JSON.readTree(ready.body()).path("status").asText()).isEqualTo("ready");
      });
      assertThat(get(admin + "/health").statusCode()).isEqualTo(200);

      herd.terminate(START);
      assertThat(herd.survivors()).isEmpty();
    }
  }

  @Test
  void aHealthyGatewayIsLiveAndReadyWithoutAToken() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID",
        "").toAbsolutePath();
    Files.writeString(config, Files.readString(config).replace("admin: { listen: 127.0.0.1:0 }",
        "admin: { listen: 127.0.0.1:0, token: probes-need-no-token-1234 }"));
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      herd.awaitServing(START);
      String admin = herd.adminUri(START);
      await().atMost(START).untilAsserted(
          () -> assertThat(get(admin + "/health/ready").statusCode()).isEqualTo(200));
      assertThat(get(admin + "/health/live").statusCode()).isEqualTo(200);
      assertThat(get(admin + "/health").statusCode()).isEqualTo(200);
      assertThat(get(admin + "/version").statusCode()).as("not a probe").isEqualTo(401);
      assertThat(get(admin + "/health/ready", "Authorization", "Bearer probes-need-no-token-1234")
          .statusCode()).isEqualTo(200);
      assertThat(send("POST", admin + "/health/ready", "").statusCode()).isEqualTo(405);
      herd.terminate(START);
    }
  }
}
