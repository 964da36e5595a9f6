package io.herd.server.cli;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static io.herd.server.cli.ReplSessions.exec;
import static io.herd.server.cli.ReplSessions.python3Works;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression for state bleeding between users (issue 8.1): with the README's config shape ({@code
 * min: 1, max: 1, warm: 1}, a short {@code ttl}, {@code reuse} left at its default) and the
 * Python REPL example as the worker, a variable one session set must be invisible to every later
 * session — another key's, and the same key's once its session has ended — whether the session
 * expired or was ended with {@code DELETE /sessions/{key}}. Before {@code pool.reuse} defaulted to
 * false, {@code mallory} printed {@code alice-password}.
 *
 * <p>End to end as users run it: {@code herd serve} in its own JVM, real python3 worker processes
 * (skipped without python3), the admin API to watch sessions end. Expiry needs real time: a 1 s
 * TTL, waited for with Awaitility up to 30 s.
 */
class SessionStateIsolationTest {

  private static final Duration START = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "alice-password";

  /** Where the worker runs from: readable by any UID, so it works under {@code uid: isolated}. */
  @TempDir
  Path dir;

  @BeforeEach
  void copyTheExampleWorker() throws Exception {
    assumeThat(python3Works()).as("python3 on the PATH").isTrue();
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path worker = dir.resolve("repl_worker.py");
    Files.copy(Path.of("..", "examples", "python-repl", "repl_worker.py"), worker,
        StandardCopyOption.REPLACE_EXISTING);
    Files.setPosixFilePermissions(worker, PosixFilePermissions.fromString("rw-r--r--"));
  }

  /** The README's shape with one worker at most; {@code reuse} is not set: the default counts. */
  private Path config(String ttl) throws Exception {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "listen: 127.0.0.1:0\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "session: { key: \"header:X-Session-ID\" }\n"
        + "worker:\n"
        + "  command: [python3, -u, repl_worker.py, --port, \"{{port}}\"]\n"
        + "  health: { path: /health }\n"
        + "  stopTimeout: 5s\n"
        + "pool: { min: 1, max: 1, warm: 1, ttl: " + ttl + " }\n");
    return file;
  }

  @Test
  void expiredSessionsVariablesAreInvisibleToTheNextKeyAndToItsOwnKey() throws Exception {
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config",
        config("1s").toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);

      setSecret(base, "alice");
      await("alice's session expires").atMost(30, TimeUnit.SECONDS)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> !sessionIds(admin).contains("alice"));

      assertSecretIsGone(base, "mallory");
      assertSecretIsGone(base, "alice");

      assertThat(herd.terminate(Duration.ofSeconds(30))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).isEmpty();
      assertThat(herd.stderr()).as("the expiry is what ended alice's session")
          .anyMatch(l -> l.contains("session alice ended") && l.contains("expired"));
    }
  }

  @Test
  void deletedSessionsVariablesAreInvisibleToItsOwnKeyAndTheNextKey() throws Exception {
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config",
        config("5m").toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);

      setSecret(base, "alice");
      assertThat(send("DELETE", admin + "/sessions/alice", null).statusCode()).isEqualTo(200);
      assertSecretIsGone(base, "alice");

      assertThat(send("DELETE", admin + "/sessions/alice", null).statusCode()).isEqualTo(200);
      assertSecretIsGone(base, "mallory");

      assertThat(herd.terminate(Duration.ofSeconds(30))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).isEmpty();
    }
  }

  /** Sets the secret in {@code key}'s interpreter and checks it is there: the probe works. */
  private static void setSecret(String base, String key) throws Exception {
    HttpResponse<String> set = exec(base, key, "secret = \"" + SECRET + "\"");
    assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
    HttpResponse<String> read = exec(base, key, "print(secret)");
    assertThat(read.body()).as("the session keeps its own variables").isEqualTo(SECRET + "\n");
  }

  private static void assertSecretIsGone(String base, String key) throws Exception {
    HttpResponse<String> r = exec(base, key, "print(secret)");
    assertThat(r.body()).as("%s after the session that set it ended", key)
        .doesNotContain(SECRET).contains("NameError");
    assertThat(r.statusCode()).isEqualTo(400);
  }

  private static List<String> sessionIds(String admin) throws Exception {
    JsonNode list = JSON.readTree(get(admin + "/sessions").body()).path("sessions");
    return list.findValuesAsText("key");
  }
}
