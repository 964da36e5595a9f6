package io.herd.server.reload;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.server.HerdProcess;
import io.herd.server.HttpClients;
import io.herd.server.TestConfigs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP reloads {@code herd serve}'s file through the same path as {@code POST /reload}: sent to
 * a gateway running as its own process (signalling the test JVM would reach surefire instead),
 * which keeps running and serving, then stops cleanly on SIGTERM with no worker left.
 */
class ReloadSignalTest {

  private static final Duration START = Duration.ofSeconds(60);

  @TempDir Path dir;

  @Test
  void sighupReloadsTheFileAndTheGatewayKeepsServing() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      assertThat(HttpClients.get(base + "/count", "X-Session-ID", "alice").body()).isEqualTo("1");
      herd.recordDescendants();

      Files.writeString(config,
          Files.readString(config).replace("max: 4", "max: 6").replace("ttl: 5m", "ttl: 7m"));
      Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(herd.process().pid()))
          .start();
      assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(kill.exitValue()).isZero();

      herd.awaitLine("received SIGHUP: reloading", START);
      String block = herd.awaitLine("config reload \\(SIGHUP\\) from .*2 change\\(s\\) applied",
          START);
      assertThat(herd.awaitLine("applied: pool\\.max: 4 \u2192 6", START)).isNotEmpty();
      assertThat(herd.awaitLine("applied: pool\\.ttl: 5m \u2192 7m", START)).isNotEmpty();
      assertThat(block).as(herd.transcript()).isNotEmpty();
      assertThat(herd.process().isAlive()).as("SIGHUP does not stop the gateway").isTrue();
      assertThat(HttpClients.get(base + "/count", "X-Session-ID", "alice").body())
          .as("the session survived the reload").isEqualTo("2");
      assertThat(HttpClients.get(admin + "/status").body()).contains("\"max\" : 6");

      assertThat(herd.terminate(Duration.ofSeconds(60))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).as("no worker outlives the gateway").isEmpty();
    }
  }
}
