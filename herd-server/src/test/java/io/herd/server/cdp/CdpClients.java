package io.herd.server.cdp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the standard CDP clients of {@code src/test/node/cdp-client.js} (Playwright's {@code
 * connectOverCDP}, Puppeteer's {@code connect({browserURL})}, chrome-remote-interface) against a
 * gateway, as separate node processes, the way users run them. {@code mvn verify} installs them
 * ({@code npm ci} from the committed lock file, exec-maven-plugin); a missing install is a test
 * failure that says so, not a skip. Stateless.
 */
final class CdpClients {

  static final Path DIR = Path.of("src", "test", "node").toAbsolutePath();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What a client read from the page: its title and the text of {@code #msg}. */
  record Page(String client, String title, String text) {}

  private CdpClients() {}

  /** Whether the system's Chromium is installed (the tests are skipped without it). */
  static boolean chromiumInstalled() {
    return Files.isExecutable(Path.of("/usr/bin/chromium"));
  }

  /**
   * Runs {@code client} ({@code playwright}, {@code puppeteer} or {@code cri}) against {@code
   * endpoint} (the gateway URL with the key: {@code http://127.0.0.1:8080/alice}), navigating to
   * {@code pageUrl}.
   */
  static Page run(String client, String endpoint, String pageUrl)
      throws IOException, InterruptedException {
    assertThat(DIR.resolve("node_modules")).as("the CDP clients are not installed: run `npm ci`"
        + " in herd-server/src/test/node (mvn verify does, in generate-test-resources)")
        .isDirectory();
    Path out = Files.createTempFile("cdp-client", ".out");
    Path err = Files.createTempFile("cdp-client", ".err");
    try {
      List<String> argv = new ArrayList<>(List.of("node", "cdp-client.js", client, endpoint,
          pageUrl));
      Process p = new ProcessBuilder(argv).directory(DIR.toFile())
          .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(client + " did not finish within 180s: "
            + Files.readString(err, StandardCharsets.UTF_8));
      }
      String stdout = Files.readString(out, StandardCharsets.UTF_8).trim();
      assertThat(p.exitValue()).as("%s against %s:\n%s\n%s", client, endpoint, stdout,
          Files.readString(err, StandardCharsets.UTF_8)).isZero();
      JsonNode result = JSON.readTree(stdout);
      return new Page(result.path("client").asText(), result.path("title").asText(),
          result.path("text").asText());
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** The keys of the gateway's sessions, from its admin API. */
  static List<String> sessionKeys(String admin) throws IOException, InterruptedException {
    List<String> keys = new ArrayList<>();
    sessions(admin).forEach(s -> keys.add(s.path("key").asText()));
    return keys;
  }

  /** The admin API's {@code /sessions} list. */
  static JsonNode sessions(String admin) throws IOException, InterruptedException {
    String body = io.herd.server.HttpClients.get(admin + "/sessions").body();
    return JSON.readTree(body).path("sessions");
  }

  /** How many workers are started and free (warm spares), from the admin API. */
  static int idleWorkers(String admin) throws IOException, InterruptedException {
    String body = io.herd.server.HttpClients.get(admin + "/workers").body();
    int idle = 0;
    for (JsonNode w : JSON.readTree(body).path("workers")) {
      if (w.path("state").asText().equals("IDLE")) {
        idle++;
      }
    }
    return idle;
  }

  /** Processes (any user's) whose command line contains {@code marker}. */
  static List<Long> processesWith(String marker) {
    return ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().map(c -> c.contains(marker)).orElse(false))
        .map(ProcessHandle::pid).toList();
  }
}
