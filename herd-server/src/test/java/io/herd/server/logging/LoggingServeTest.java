package io.herd.server.logging;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.TestConfigs;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.runtime.HerdServer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * The access log and the structured lines of a real gateway (in this JVM) with real TestWorker
 * processes behind it: what {@code herd.access} receives for each {@code logging.access} format,
 * the key-values of the lifecycle lines, the level of health-check lines and the one-line
 * sandbox report.
 */
class LoggingServeTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MONITOR = "io.herd.core.local.WorkerMonitor";

  /** Collects events from any thread. */
  private static final class Recorder extends AppenderBase<ILoggingEvent> {
    final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
      event.prepareForDeferredProcessing();
      events.add(event);
    }

    ILoggingEvent await(Predicate<ILoggingEvent> which) {
      return org.awaitility.Awaitility.await().atMost(WAIT)
          .until(() -> events.stream().filter(which).findFirst(), Optional::isPresent)
          .orElseThrow();
    }
  }

  @TempDir
  Path dir;

  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
  private final Recorder access = new Recorder();
  private final Recorder herd = new Recorder();
  private Level monitorLevel;
  private HerdServer server;

  @BeforeEach
  void record() {
    access.setContext(context);
    access.start();
    herd.setContext(context);
    herd.start();
    context.getLogger(AccessLogWriter.LOGGER).addAppender(access);
    context.getLogger("herd").addAppender(herd);
    context.getLogger("io.herd").addAppender(herd);
    monitorLevel = context.getLogger(MONITOR).getLevel();
    context.getLogger(MONITOR).setLevel(Level.DEBUG);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    context.getLogger(AccessLogWriter.LOGGER).detachAppender(access);
    context.getLogger("herd").detachAppender(herd);
    context.getLogger("io.herd").detachAppender(herd);
    context.getLogger(MONITOR).setLevel(monitorLevel);
  }

  private String start(String extra) throws Exception {
    Path file = TestConfigs.write(dir, "header:X-Session-ID",
        extra + "sandbox: { namespaces: false, memory: 512m }\n");
    HerdConfig config = HerdConfigLoader.fromEnvironment().parse(file.toString(),
        Files.readString(file), dir, HerdConfigLoader.Overrides.NONE);
    server = HerdServer.start(config);
    return server.uri().toString();
  }

  private static Map<String, Object> keyValues(ILoggingEvent e) {
    java.util.LinkedHashMap<String, Object> m = new java.util.LinkedHashMap<>();
    List<KeyValuePair> pairs = e.getKeyValuePairs();
    if (pairs != null) {
      pairs.forEach(kv -> m.put(kv.key, kv.value));
    }
    return m;
  }

  @Test
  void textAccessLogStructuredLifecycleLinesDebugHealthChecksAndOneLineSandboxReport()
      throws Exception {
    String base = start("");
    HttpResponse<String> cold = get(base + "/pid?secret=1", "X-Session-ID", "alice");
    assertThat(cold.statusCode()).isEqualTo(200);
    String pid = cold.body();
    String line = access.await(e -> e.getFormattedMessage().contains("\"GET /pid "))
        .getFormattedMessage();
    assertThat(line).as("a cold start, in Combined Log Format with extras")
        .matches("127\\.0\\.0\\.1 - - \\[[^\\]]+\\] \"GET /pid HTTP/1\\.1\" 200 "
            + pid.length() + " \"-\" \"[^\"]*\" session=alice worker=w-\\d+ duration_ms=[\\d.]+"
            + " cold_start=true cold_start_ms=\\d+ request_bytes=0 outcome=worker");
    assertThat(get(base + "/count", "X-Session-ID", "alice").statusCode()).isEqualTo(200);
    assertThat(access.await(e -> e.getFormattedMessage().contains("\"GET /count "))
        .getFormattedMessage()).contains(" cold_start=false ");
    assertThat(get(base + "/count").statusCode()).isEqualTo(400);
    assertThat(access.await(e -> e.getFormattedMessage().contains("\" 400 "))
        .getFormattedMessage()).contains(" session=- worker=- ").endsWith("outcome=missing_key");

    ILoggingEvent started = herd.await(e -> e.getLoggerName().equals("herd.pool")
        && e.getFormattedMessage().startsWith("session alice started"));
    Map<String, Object> kv = keyValues(started);
    assertThat(kv).containsEntry("session", "alice").containsKey("worker").containsKey("pid");
    JsonLineLayout json = new JsonLineLayout();
    json.setContext(context);
    json.start();
    JsonNode n = JSON.readTree(json.doLayout(started));
    assertThat(n.path("session").asText()).isEqualTo("alice");
    assertThat(n.path("worker").asText()).startsWith("w-");
    assertThat(n.path("pid").isIntegralNumber()).isTrue();
    ILoggingEvent workerStarted = herd.await(e -> e.getFormattedMessage().matches(
        "worker w-\\d+ started at .*"));
    assertThat(keyValues(workerStarted)).containsKey("worker").containsKey("pid");

    ILoggingEvent health = herd.await(e -> e.getLoggerName().equals(MONITOR)
        && e.getFormattedMessage().startsWith("health check of worker"));
    assertThat(health.getLevel()).isEqualTo(Level.DEBUG);
    assertThat(keyValues(health)).containsKey("worker");
    assertThat(herd.events).as("no health check line above DEBUG")
        .noneMatch(e -> e.getFormattedMessage().startsWith("health check of worker")
            && e.getLevel().isGreaterOrEqual(Level.INFO));

    ILoggingEvent sandbox = herd.await(e -> e.getFormattedMessage().startsWith("worker sandbox:"));
    assertThat(sandbox.getFormattedMessage()).as("one line, human sizes")
        .doesNotContain("\n").contains("memory=").doesNotContain("536870912");
  }

  @Test
  void jsonAccessLogIsOneObjectPerRequest() throws Exception {
    String base = start("logging: { access: json }\n");
    assertThat(get(base + "/count", "X-Session-ID", "bob").statusCode()).isEqualTo(200);
    String line = access.await(e -> e.getFormattedMessage().contains("\"/count\""))
        .getFormattedMessage();
    JsonNode n = JSON.readTree(line);
    assertThat(n.path("session").asText()).isEqualTo("bob");
    assertThat(n.path("worker").asText()).startsWith("w-");
    assertThat(n.path("status").asInt()).isEqualTo(200);
    assertThat(n.path("cold_start").asBoolean()).isTrue();
    assertThat(n.path("response_bytes").asLong()).isEqualTo(1);
  }

  @Test
  void accessLogOffWritesNoLine() throws Exception {
    String base = start("logging: { access: off }\n");
    assertThat(get(base + "/count", "X-Session-ID", "carol").statusCode()).isEqualTo(200);
    assertThat(get(base + "/count").statusCode()).isEqualTo(400);
    // An access line is logged on the event loop as the response's last piece is written, before
    // the client can have read it: had there been one, it would be here by now.
    assertThat(access.events).isEmpty();
  }
}
