package io.herd.server.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HttpClients;
import io.herd.server.TestConfigs;
import io.herd.core.SessionPool;
import io.herd.server.config.ConfigProblem;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.InvalidConfigFileException;
import io.herd.server.logging.LogLevels;
import io.herd.server.runtime.HerdServer;
import io.herd.testkit.Processes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Hot reload end to end: a real gateway with real TestWorker processes over loopback, its file
 * rewritten and reloaded through {@code POST /reload} on the admin API. (That SIGHUP takes the
 * same path is {@code ReloadSignalTest}'s.) Every test leaves no worker behind.
 */
class HotReloadTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ENV = Map.of();

  @TempDir Path dir;
  private Path file;
  private HerdServer server;
  private final Set<Long> workerPids = new HashSet<>();
  private final ListAppender<ILoggingEvent> reloadLog = new ListAppender<>();

  @BeforeEach
  void captureReloadLog() {
    reloadLog.start();
    ((Logger) LoggerFactory.getLogger("herd.reload")).addAppender(reloadLog);
  }

  @AfterEach
  void stop() {
    ((Logger) LoggerFactory.getLogger("herd.reload")).detachAppender(reloadLog);
    if (server != null) {
      server.pools().forEach(p -> p.pool().workers()
        .forEach(w -> w.pid().ifPresent(workerPids::add)));
      server.close();
    }
    for (long pid : workerPids) {
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(10)))
          .as("worker %d is gone after the gateway stopped", pid).isTrue();
    }
  }

  /** A config with {@code extra} YAML at the top level and {@code env} in {@code worker.env}. */
  private static String yaml(String listen, String pool, String env, String extra) {
    return "listen: " + listen + "\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "session: { key: \"header:X-Session-ID\" }\n"
        + "worker:\n"
        + "  command: " + TestConfigs.testWorkerCommand() + "\n"
        + "  env: { " + env + " }\n"
        + "  health: { path: /health, interval: 1s, timeout: 2s }\n"
        + "  startTimeout: 30s\n"
        + "  stopTimeout: 5s\n"
        + "pool: " + pool + "\n"
        + "sandbox: { namespaces: false }\n"
        + extra;
  }

  private void start(String yaml) throws IOException {
    file = dir.resolve("herd.yaml");
    Files.writeString(file, yaml);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    HerdConfigLoader loader = new HerdConfigLoader(ENV);
    HerdConfig config = loader.load(file, HerdConfigLoader.Overrides.NONE);
    server = HerdServer.start(config, new ReloadSource(
        () -> loader.load(file, HerdConfigLoader.Overrides.NONE), false));
  }

  private HttpResponse<String> get(String session, String path) throws Exception {
    HttpResponse<String> r = HttpClients.get(server.uri() + path, "X-Session-ID", session);
    server.pools().forEach(p -> p.pool().workers()
        .forEach(w -> w.pid().ifPresent(workerPids::add)));
    return r;
  }

  private JsonNode reload(int expectedStatus) throws Exception {
    HttpResponse<String> r = HttpClients.send("POST", server.adminUri() + "/reload", null);
    assertThat(r.statusCode()).as("POST /reload: %s", r.body()).isEqualTo(expectedStatus);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return JSON.readTree(r.body());
  }

  private static List<String> keys(JsonNode changes) {
    List<String> keys = new ArrayList<>();
    changes.forEach(c -> keys.add(c.get("key").asText()));
    return keys;
  }

  private List<String> reloadLogLines() {
    return reloadLog.list.stream().map(ILoggingEvent::getFormattedMessage)
        .collect(Collectors.toList());
  }

  @Test
  void poolMaxAndWorkerEnvChangeLiveWhileTheExistingSessionKeepsItsWorkerAndState()
      throws Exception {
    String pool = "{ min: 0, max: 1, warm: 0, ttl: 5m }";
    start(yaml("127.0.0.1:0", pool, "GREETING: hello", ""));
    assertThat(get("alice", "/env?name=GREETING").body()).isEqualTo("hello");
    assertThat(get("alice", "/count").body()).isEqualTo("1");
    String alicePid = get("alice", "/pid").body();

    Files.writeString(file, yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0, ttl: 5m }",
        "GREETING: hi", ""));
    JsonNode answer = reload(200);

    assertThat(answer.get("status").asText()).isEqualTo("applied");
    assertThat(keys(answer.get("applied")))
        .containsExactlyInAnyOrder("pool.max", "worker.env.GREETING");
    assertThat(answer.get("restartRequired")).isEmpty();
    assertThat(answer.get("applied").toString()).contains("\"before\":\"1\"", "\"after\":\"2\"");
    assertThat(server.pool().config().max()).isEqualTo(2);
    assertThat(get("alice", "/count").body()).as("alice's state survived").isEqualTo("2");
    assertThat(get("alice", "/pid").body()).as("alice kept her worker").isEqualTo(alicePid);
    assertThat(get("alice", "/env?name=GREETING").body())
        .as("a running worker keeps the environment it started with").isEqualTo("hello");
    // At max 1, bob would wait for alice's worker (ttl 5m) and time out: max 2 serves him now.
    assertThat(get("bob", "/env?name=GREETING").body())
        .as("a new worker starts with the new environment").isEqualTo("hi");
    assertThat(server.pool().sessions()).hasSize(2);
    assertThat(reloadLogLines()).anySatisfy(line -> assertThat(line)
        .contains("config reload (POST /reload)", "applied: pool.max: 1 \u2192 2",
            "applied: worker.env.GREETING: hello \u2192 hi (new workers)"));
  }

  /** Two pools (by path prefix, stripped) with their own sizes and worker environment. */
  private static String twoPools(String apiMax, String apiEnv, String replPrefix) {
    String worker = "    worker:\n"
        + "      command: " + TestConfigs.testWorkerCommand() + "\n"
        + "      health: { path: /health, interval: 1s, timeout: 2s }\n"
        + "      stopTimeout: 5s\n";
    return "listen: 127.0.0.1:0\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "pools:\n"
        + "  - name: api\n"
        + "    match: { pathPrefix: /api, stripPrefix: true }\n"
        + "    session: { key: \"header:X-Session-ID\" }\n"
        + worker
        + "      env: { GREETING: " + apiEnv + " }\n"
        + "    pool: { min: 0, max: " + apiMax + ", warm: 0 }\n"
        + "    sandbox: { namespaces: false }\n"
        + "  - name: repl\n"
        + "    match: { pathPrefix: " + replPrefix + ", stripPrefix: true }\n"
        + "    session: { key: \"header:X-Session-ID\" }\n"
        + worker
        + "      env: { GREETING: repl }\n"
        + "    pool: { min: 0, max: 1, warm: 0 }\n"
        + "    sandbox: { namespaces: false }\n";
  }

  @Test
  void withSeveralPoolsEachPoolTakesItsOwnSectionAndAChangedMatchNeedsARestart()
      throws Exception {
    start(twoPools("1", "hello", "/repl"));
    assertThat(get("alice", "/api/env?name=GREETING").body()).isEqualTo("hello");
    assertThat(get("alice", "/repl/env?name=GREETING").body()).isEqualTo("repl");

    Files.writeString(file, twoPools("3", "hi", "/shell"));
    JsonNode answer = reload(200);

    assertThat(keys(answer.get("applied")))
        .containsExactlyInAnyOrder("pools[api].pool.max", "pools[api].worker.env.GREETING");
    assertThat(keys(answer.get("restartRequired"))).containsExactly("pools[repl].match");
    SessionPool api = server.pools().get(0).pool();
    SessionPool repl = server.pools().get(1).pool();
    assertThat(api.config().max()).isEqualTo(3);
    assertThat(repl.config().max()).as("the other pool is untouched").isEqualTo(1);
    assertThat(get("bob", "/api/env?name=GREETING").body())
        .as("a new worker of the changed pool has the new environment").isEqualTo("hi");
    assertThat(get("alice", "/repl/env?name=GREETING").body())
        .as("the old match stays in force until a restart").isEqualTo("repl");
  }

  @Test
  void anInvalidFileIsRejectedWithTheProblemsHerdValidatePrintsAndTheOldConfigStays()
      throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b", ""));
    String before = get("alice", "/count").body();
    Files.writeString(file, yaml("127.0.0.1:0", "{ min: 0, max: 0, warm: 0, maxQeue: 3 }",
        "A: c", ""));
    List<String> validate;
    try {
      new HerdConfigLoader(ENV).load(file, HerdConfigLoader.Overrides.NONE);
      throw new AssertionError("the file should be invalid");
    } catch (InvalidConfigFileException e) {
      validate = e.problems().stream().map(ConfigProblem::toString).toList();
    }

    JsonNode answer = reload(422);

    assertThat(answer.get("status").asText()).isEqualTo("rejected");
    List<String> problems = new ArrayList<>();
    answer.get("problems").forEach(p -> problems.add(p.asText()));
    assertThat(problems).as("what herd validate prints").isEqualTo(validate)
        .anySatisfy(p -> assertThat(p).startsWith(file + ":10: pool.max"))
        .anySatisfy(p -> assertThat(p).contains("maxQeue", "maxQueue"));
    assertThat(server.pool().config().max()).as("old config in force").isEqualTo(2);
    assertThat(get("alice", "/count").body()).as("still serving, session kept")
        .isEqualTo(String.valueOf(Integer.parseInt(before) + 1));
    assertThat(reloadLog.list).anySatisfy(e -> {
      assertThat(e.getFormattedMessage()).contains("rejected", "nothing changed",
          file + ":10: pool.max");
      assertThat(e.getThrowableProxy()).as("no stack trace").isNull();
    });
  }

  @Test
  void aListenChangeIsReportedAsNeedingARestartWhileTheRestApplies() throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b", ""));
    String uri = server.uri().toString();
    String other = "127.0.0.1:" + freePort();
    Files.writeString(file, yaml(other, "{ min: 0, max: 3, warm: 0 }", "A: b", ""));

    JsonNode answer = reload(200);

    assertThat(keys(answer.get("applied"))).containsExactly("pool.max");
    assertThat(keys(answer.get("restartRequired"))).containsExactly("listen");
    assertThat(answer.get("restartRequired").get(0).get("before").asText())
        .isEqualTo("127.0.0.1:0");
    assertThat(server.uri().toString()).as("still listening where it was").isEqualTo(uri);
    assertThat(get("alice", "/count").body()).isEqualTo("1");
    assertThat(reloadLogLines()).anySatisfy(line -> assertThat(line)
        .contains("needs a restart: listen: 127.0.0.1:0 \u2192 " + other));

    JsonNode again = reload(200);
    assertThat(keys(again.get("restartRequired"))).as("reported until the restart")
        .containsExactly("listen");
    assertThat(again.get("applied")).isEmpty();
  }

  @Test
  void anUnchangedFileLogsNoChanges() throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b", ""));
    JsonNode answer = reload(200);
    assertThat(answer.get("status").asText()).isEqualTo("unchanged");
    assertThat(reloadLogLines()).contains(
        "config reload (POST /reload) from " + file + ": no changes");
  }

  @Test
  void aLogLevelChangeTakesEffect() throws Exception {
    String levelBefore = LogLevels.current().orElse("info");
    try {
      start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b", "logging: { level: info }\n"));
      assertThat(LoggerFactory.getLogger("herd.server").isDebugEnabled()).isFalse();
      Files.writeString(file, yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b",
          "logging: { level: debug }\n"));
      JsonNode answer = reload(200);
      assertThat(keys(answer.get("applied"))).containsExactly("logging.level");
      assertThat(LoggerFactory.getLogger("herd.server").isDebugEnabled()).isTrue();
      assertThat(LoggerFactory.getLogger("io.herd.core.local.LocalSessionPool").isDebugEnabled())
          .isTrue();
    } finally {
      LogLevels.set(levelBefore);
    }
  }

  @Test
  void aShorterUpstreamTimeoutAppliesToTheNextRequest() throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b",
        "proxy: { upstreamTimeout: 5m }\n"));
    assertThat(get("alice", "/count").body()).isEqualTo("1");
    Files.writeString(file, yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b",
        "proxy: { upstreamTimeout: 1s }\n"));
    JsonNode answer = reload(200);
    assertThat(keys(answer.get("applied"))).containsExactly("proxy.upstreamTimeout");

    HttpResponse<String> slow = get("alice", "/sleep?ms=15000");
    assertThat(slow.statusCode()).as("the worker answers after 15s: 504 after 1s, not 5m")
        .isEqualTo(504);
  }

  @Test
  void loweringMaxKeepsBusySessionsAndTheirWorkers() throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 3, warm: 0 }", "A: b", ""));
    Map<String, String> pids = Map.of("a", get("a", "/pid").body(), "b", get("b", "/pid").body(),
        "c", get("c", "/pid").body());
    Files.writeString(file, yaml("127.0.0.1:0", "{ min: 0, max: 1, warm: 0 }", "A: b", ""));
    reload(200);
    for (Map.Entry<String, String> e : pids.entrySet()) {
      assertThat(get(e.getKey(), "/pid").body()).as("session %s kept its worker", e.getKey())
          .isEqualTo(e.getValue());
    }
    HttpClients.send("DELETE", server.adminUri() + "/sessions/a", null);
    HttpClients.send("DELETE", server.adminUri() + "/sessions/b", null);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> server.pool().stats().workers() == 1);
    assertThat(get("c", "/pid").body()).isEqualTo(pids.get("c"));
  }

  @Test
  void reloadIsAPostAndNeedsAFile() throws Exception {
    start(yaml("127.0.0.1:0", "{ min: 0, max: 2, warm: 0 }", "A: b", ""));
    HttpResponse<String> get = HttpClients.get(server.adminUri() + "/reload");
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("Allow")).hasValue("POST");
    server.close();
    // Started without a file to re-read, as the built-in demo is.
    server = HerdServer.start(new HerdConfigLoader(ENV).load(file,
        HerdConfigLoader.Overrides.NONE));
    HttpResponse<String> post = HttpClients.send("POST", server.adminUri() + "/reload", null);
    assertThat(post.statusCode()).isEqualTo(409);
    assertThat(post.body()).contains("no configuration file to reload");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
