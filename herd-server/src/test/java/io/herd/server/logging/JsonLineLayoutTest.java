package io.herd.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class JsonLineLayoutTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final LoggerContext context = new LoggerContext();

  private String layout(String logger, String message, Throwable error) {
    Logger l = context.getLogger(logger);
    LoggingEvent event = new LoggingEvent(Logger.class.getName(), l, Level.INFO, message, error,
        null);
    JsonLineLayout layout = new JsonLineLayout();
    layout.setContext(context);
    layout.start();
    return layout.doLayout(event);
  }

  @Test
  void eventIsOneJsonObjectOnOneLine() throws Exception {
    String line = layout("herd.pool", "session \"a\"\nstarted", new IllegalStateException("x"));

    assertThat(line).endsWith("}\n").doesNotContain("\n{").hasLineCount(1);
    JsonNode n = JSON.readTree(line);
    assertThat(n.path("level").asText()).isEqualTo("INFO");
    assertThat(n.path("logger").asText()).isEqualTo("herd.pool");
    assertThat(n.path("message").asText()).isEqualTo("session \"a\"\nstarted");
    assertThat(n.path("error").asText()).contains("IllegalStateException: x");
    assertThat(n.path("time").asText()).endsWith("Z");
  }

  @Test
  void workerOutputGetsWorkerAndStreamFields() throws Exception {
    JsonNode n = JSON.readTree(layout("io.herd.worker.stderr", "[w-7] boom: bad", null));

    assertThat(n.path("worker").asText()).isEqualTo("w-7");
    assertThat(n.path("stream").asText()).isEqualTo("stderr");
    assertThat(n.path("message").asText()).isEqualTo("boom: bad");
  }

  @Test
  void keyValuesBecomeTopLevelFieldsNumbersAsNumbers() throws Exception {
    Logger l = context.getLogger("herd.pool");
    LoggingEvent event = new LoggingEvent(Logger.class.getName(), l, Level.INFO,
        "session alice started on worker w-1", null, null);
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("session", "alice"));
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("worker", "w-1"));
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("pid", 4242L));
    event.addKeyValuePair(new org.slf4j.event.KeyValuePair("level", "spoofed"));
    JsonLineLayout layout = new JsonLineLayout();
    layout.setContext(context);
    layout.start();

    String line = layout.doLayout(event);
    JsonNode n = JSON.readTree(line);
    assertThat(n.path("session").asText()).isEqualTo("alice");
    assertThat(n.path("worker").asText()).isEqualTo("w-1");
    assertThat(n.path("pid").isIntegralNumber()).as("pid is a number: %s", line).isTrue();
    assertThat(n.path("pid").asLong()).isEqualTo(4242);
    assertThat(n.path("level").asText()).as("a key-value never replaces a fixed field")
        .isEqualTo("INFO");
  }

  @Test
  void textPatternEndsWithTheKeyValuesOrNothing() {
    ch.qos.logback.classic.PatternLayout text = new ch.qos.logback.classic.PatternLayout();
    text.setContext(context);
    text.setPattern(LogSetup.TEXT_PATTERN);
    text.start();
    Logger l = context.getLogger("herd.pool");
    LoggingEvent with = new LoggingEvent(Logger.class.getName(), l, Level.INFO, "session started",
        null, null);
    with.addKeyValuePair(new org.slf4j.event.KeyValuePair("session", "alice"));
    with.addKeyValuePair(new org.slf4j.event.KeyValuePair("pid", 42L));
    LoggingEvent without = new LoggingEvent(Logger.class.getName(), l, Level.INFO, "plain", null,
        null);

    assertThat(text.doLayout(with)).endsWith("[pool] session started session=alice pid=42\n");
    assertThat(text.doLayout(without)).endsWith("[pool] plain\n");
  }
}
