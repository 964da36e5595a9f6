package io.herd.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.proxy.AccessLogEntry;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class AccessLogLineTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant TIME = Instant.parse("2026-12-02T10:15:32.123Z");

  private static AccessLogEntry entry(int status, String session, String worker, long cold,
      String outcome, boolean tunnel) {
    return new AccessLogEntry(TIME, "127.0.0.1", "GET", "/counter", "HTTP/1.1", status, 3, 12,
        Duration.ofNanos(812_402_999), session, worker, cold, outcome, tunnel, "curl/8.5.0", null);
  }

  @Test
  void textIsCombinedLogFormatWithKeyValueExtras() {
    String line = AccessLogLine.text(entry(200, "alice", "w-1", -1, "worker", false));
    assertThat(line).isEqualTo("127.0.0.1 - - [02/Dec/2026:10:15:32 +0000] \"GET /counter"
        + " HTTP/1.1\" 200 12 \"-\" \"curl/8.5.0\" session=alice worker=w-1 duration_ms=812.402"
        + " cold_start=false request_bytes=3 outcome=worker");
  }

  @Test
  void textOfAColdStartSaysHowLongItWaited() {
    String line = AccessLogLine.text(entry(200, "alice", "w-1", 790, "worker", false));
    assertThat(line).contains(" cold_start=true cold_start_ms=790 ");
  }

  @Test
  void textOfAGatewayRefusalHasDashesForWhatItNeverKnew() {
    String line = AccessLogLine.text(entry(503, null, null, -1, "acquire_timeout", false));
    assertThat(line).contains("\" 503 12 ").contains(" session=- worker=- ")
        .endsWith(" outcome=acquire_timeout");
  }

  @Test
  void textOfAWebSocketSaysTunnel() {
    assertThat(AccessLogLine.text(entry(101, "ws", "w-2", -1, "worker", true)))
        .contains("\" 101 12 ").endsWith(" tunnel=true");
  }

  @Test
  void textEscapesQuotesSpacesAndControls() {
    AccessLogEntry e = new AccessLogEntry(TIME, "::1", "GET", "/a\"b", "HTTP/1.1", 200, 0, 0,
        Duration.ZERO, "x\"y", "w-1", -1, "worker", false, "evil\"\nagent", "ref");
    String line = AccessLogLine.text(e);
    assertThat(line).hasLineCount(1).contains("\"GET /a\\x22b HTTP/1.1\"")
        .contains("\"evil\\x22\\x0Aagent\"").contains(" session=x\\x22y ").contains("\"ref\"");
  }

  @Test
  void jsonHasEveryFieldTyped() throws Exception {
    JsonNode n = JSON.readTree(AccessLogLine.json(
        entry(200, "alice", "w-1", 790, "worker", false)));
    assertThat(n.path("time").asText()).isEqualTo("2026-12-02T10:15:32.123Z");
    assertThat(n.path("client").asText()).isEqualTo("127.0.0.1");
    assertThat(n.path("method").asText()).isEqualTo("GET");
    assertThat(n.path("path").asText()).isEqualTo("/counter");
    assertThat(n.path("protocol").asText()).isEqualTo("HTTP/1.1");
    assertThat(n.path("status").asInt()).isEqualTo(200);
    assertThat(n.path("response_bytes").asLong()).isEqualTo(12);
    assertThat(n.path("request_bytes").asLong()).isEqualTo(3);
    assertThat(n.path("duration_ms").asDouble()).isEqualTo(812.402);
    assertThat(n.path("session").asText()).isEqualTo("alice");
    assertThat(n.path("worker").asText()).isEqualTo("w-1");
    assertThat(n.path("cold_start").asBoolean()).isTrue();
    assertThat(n.path("cold_start_ms").asLong()).isEqualTo(790);
    assertThat(n.path("outcome").asText()).isEqualTo("worker");
    assertThat(n.path("tunnel").asBoolean()).isFalse();
    assertThat(n.path("user_agent").asText()).isEqualTo("curl/8.5.0");
    assertThat(n.path("referer").isNull()).isTrue();
  }

  @Test
  void jsonOfARefusalHasNullsForWhatItNeverKnew() throws Exception {
    JsonNode n = JSON.readTree(AccessLogLine.json(
        entry(503, null, null, -1, "acquire_timeout", false)));
    assertThat(n.path("session").isNull()).isTrue();
    assertThat(n.path("worker").isNull()).isTrue();
    assertThat(n.path("cold_start").asBoolean()).isFalse();
    assertThat(n.path("cold_start_ms").isNull()).isTrue();
  }

  @Test
  void formatsAreParsedByTheirLowerCaseNames() {
    assertThat(AccessLogFormat.parse("json")).contains(AccessLogFormat.JSON);
    assertThat(AccessLogFormat.parse("off")).contains(AccessLogFormat.OFF);
    assertThat(AccessLogFormat.parse("JSON")).isEmpty();
  }
}
