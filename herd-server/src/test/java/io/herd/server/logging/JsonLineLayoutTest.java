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
}
