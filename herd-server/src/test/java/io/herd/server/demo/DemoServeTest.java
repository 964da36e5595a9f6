package io.herd.server.demo;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code herd serve} with no config, as the README's first command, on free ports: it must need
 * nothing but the JDK, print two curl commands, and those commands must work.
 */
class DemoServeTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CURL =
      Pattern.compile("curl -H '([^:]+): ([^']+)'(?: -d '([^']*)')? (http://\\S+)");

  @Test
  void demoStartsWithoutConfigAndItsCurlLinesWork() throws Exception {
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve",
        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")) {
      herd.awaitLine("Try it:", Duration.ofSeconds(60));
      herd.awaitLine("curl .*/notes", Duration.ofSeconds(30));
      List<String> curls = herd.stdout().stream().filter(l -> l.trim().startsWith("curl "))
          .toList();
      assertThat(curls).as(herd.transcript()).hasSize(2);

      JsonNode first = JSON.readTree(curl(curls.get(0)));
      JsonNode again = JSON.readTree(curl(curls.get(0)));
      assertThat(first.path("counter").asInt()).isEqualTo(1);
      assertThat(again.path("counter").asInt()).as("the session's own state").isEqualTo(2);
      assertThat(again.path("pid").asLong()).isEqualTo(first.path("pid").asLong());

      JsonNode notes = JSON.readTree(curl(curls.get(1)));
      assertThat(notes.path("notes").get(0).asText()).isEqualTo("buy milk");
      assertThat(notes.path("pid").asLong()).as("same session, same process")
          .isEqualTo(first.path("pid").asLong());

      String base = herd.awaitServing(Duration.ofSeconds(30));
      JsonNode bob = JSON.readTree(get(base + "/counter", "X-Session-ID", "bob").body());
      assertThat(bob.path("counter").asInt()).as("another session starts at 1").isEqualTo(1);
      assertThat(bob.path("pid").asLong()).isNotEqualTo(first.path("pid").asLong());

      assertThat(herd.terminate(Duration.ofSeconds(20))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).as("no demo worker survives").isEmpty();
    }
  }

  /** Runs a printed curl line with the JDK's HTTP client. */
  private static String curl(String line) throws Exception {
    Matcher m = CURL.matcher(line);
    assertThat(m.find()).as(line).isTrue();
    String body = m.group(3);
    var r = send(body == null ? "GET" : "POST", m.group(4), body, m.group(1), m.group(2));
    assertThat(r.statusCode()).as(line + " -> " + r.body()).isEqualTo(200);
    return r.body();
  }
}
