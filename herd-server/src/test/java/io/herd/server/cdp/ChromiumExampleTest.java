package io.herd.server.cdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.server.HerdProcess;
import io.herd.testkit.ReadableCopy;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * examples/chromium runs as shipped (only the listen addresses are moved to free ports): under a
 * root gateway, each browser as its own UID in its own namespaces and network, its profile in the
 * worker's scratch directory; Playwright's {@code connectOverCDP("http://gateway/alice")} gets a
 * page through it. The browser cannot reach any network there, so the page is a {@code data:}
 * URL. Skipped without /usr/bin/chromium.
 */
class ChromiumExampleTest {

  @Test
  void theChromiumExampleServesAPageToPlaywrightThroughThePathKey() throws Exception {
    assumeThat(CdpClients.chromiumInstalled()).as("/usr/bin/chromium").isTrue();
    Path config = ReadableCopy.of(Path.of("..", "examples", "chromium")).resolve("herd.yaml");
    String html = "<title>example page</title><p id=\"msg\">rendered by the example</p>";
    String page = "data:text/html," + URLEncoder.encode(html, StandardCharsets.UTF_8)
        .replace("+", "%20");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString(),
        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")) {
      String gateway = herd.awaitServing(Duration.ofSeconds(60));
      String admin = herd.adminUri(Duration.ofSeconds(10));

      CdpClients.Page result = CdpClients.run("playwright", gateway + "/alice", page);

      assertThat(result.title()).as(herd.transcript()).isEqualTo("example page");
      assertThat(result.text()).isEqualTo("rendered by the example");
      assertThat(CdpClients.sessionKeys(admin)).as("no stray session").containsExactly("alice");
      assertThat(herd.terminate(Duration.ofSeconds(60))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).as("browsers after the gateway stopped").isEmpty();
    }
  }
}
