package io.herd.server.cdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Standard CDP clients, unchanged, reach their own session's headless Chromium through a real
 * gateway that routes by a path key ({@code path:0:strip}) with {@code proxy.devtools}: the
 * discovery answers point back through the gateway with the key, so no client lands on a stray
 * session ({@code devtools}, {@code json}). Each browser loads a page this test serves on
 * loopback and the client reads it back. Skipped without /usr/bin/chromium; the clients are
 * node packages installed by the build ({@link CdpClients}).
 *
 * <p>One gateway for the class (browsers start slowly on a busy machine); every test uses its own
 * keys. At the end the gateway is stopped and no browser of this run may be left.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChromiumCdpTest {

  /** Every key a test here uses: any other session is a stray. */
  private static final Set<String> KEYS = Set.of("alice", "bob", "carol", "dave", "erin");

  /** On every browser's command line, so that none of this run's can hide at the end. */
  private final String marker = "--herd-test-run=" + UUID.randomUUID();

  private HttpServer pages;
  private HerdProcess herd;
  private String gateway;
  private String admin;

  @BeforeAll
  void startGatewayAndPages(@TempDir Path dir) throws Exception {
    assumeThat(CdpClients.chromiumInstalled()).as("/usr/bin/chromium").isTrue();
    pages = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    pages.createContext("/", exchange -> {
      String key = exchange.getRequestURI().getPath().replaceAll("^/|\\.html$", "");
      byte[] html = ("<!doctype html><title>page for " + key + "</title><p id=\"msg\">hello "
          + key + "</p>").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
      exchange.sendResponseHeaders(200, html.length);
      exchange.getResponseBody().write(html);
      exchange.close();
    });
    pages.start();

    String yaml = "listen: 127.0.0.1:0\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "session: { key: \"path:0:strip\" }\n"
        + "worker:\n"
        + "  command: [chromium, --headless=new, --no-sandbox, --disable-gpu, --disable-quic,\n"
        + "            --no-first-run, --no-default-browser-check, --disable-background-networking,\n"
        + "            --disable-component-update, --disable-sync, --disable-dev-shm-usage,\n"
        + "            --remote-debugging-address=127.0.0.1, \"--remote-debugging-port={{port}}\",\n"
        + "            \"--user-data-dir={{workdir}}/profile\", " + TestConfigs.quote(marker)
        + ", about:blank]\n"
        + "  health: { path: /json/version, interval: 2s, timeout: 5s }\n"
        + "  startTimeout: 120s\n"
        + "  stopTimeout: 5s\n"
        + "pool: { min: 0, max: 7, warm: 1, ttl: 10m, reuse: false, acquireTimeout: 150s }\n"
        + "proxy: { devtools: true, idleTimeout: 5m, upstreamTimeout: 120s }\n"
        // The browsers load this test's page from 127.0.0.1: the host's network. Isolation is
        // examples/chromium's (ChromiumExampleTest).
        + "sandbox: { network: loopback }\n";
    Path config = dir.resolve("herd.yaml");
    Files.writeString(config, yaml);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString());
    gateway = herd.awaitServing(Duration.ofSeconds(60));
    admin = herd.adminUri(Duration.ofSeconds(10));
  }

  @AfterAll
  void stopEverything() throws Exception {
    try {
      if (herd != null) {
        assertThat(herd.terminate(Duration.ofSeconds(60))).as(herd.transcript()).isZero();
        assertThat(herd.survivors()).as("herd's descendants after it stopped").isEmpty();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
            assertThat(CdpClients.processesWith(marker)).as("browsers of this run").isEmpty());
      }
    } finally {
      if (herd != null) {
        herd.close();
      }
      if (pages != null) {
        pages.stop(0);
      }
    }
  }

  private String page(String key) {
    return "http://127.0.0.1:" + pages.getAddress().getPort() + "/" + key + ".html";
  }

  private CdpClients.Page run(String client, String key) throws Exception {
    try {
      return CdpClients.run(client, gateway + "/" + key, page(key));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n--- herd ---\n" + herd.transcript().lines()
          .filter(l -> !l.contains("dbus")).collect(java.util.stream.Collectors.joining("\n")), e);
    }
  }

  private void assertNoStraySession() throws Exception {
    assertThat(CdpClients.sessionKeys(admin))
        .as("sessions: only the keys clients named (a client that followed an unrewritten"
            + " webSocketDebuggerUrl would start a session named devtools)")
        .isSubsetOf(KEYS);
  }

  @Test
  void playwrightConnectOverCdpThroughAPathKeyLoadsAPageAndReadsItBack() throws Exception {
    CdpClients.Page page = run("playwright", "alice");

    assertThat(page.title()).as(herd.transcript()).isEqualTo("page for alice");
    assertThat(page.text()).isEqualTo("hello alice");
    assertThat(CdpClients.sessionKeys(admin)).contains("alice");
    assertNoStraySession();
  }

  @Test
  void twoKeysDriveTwoBrowsersInTwoProcesses() throws Exception {
    assertThat(run("playwright", "bob").text()).isEqualTo("hello bob");
    assertThat(run("playwright", "carol").text()).isEqualTo("hello carol");

    Map<String, Long> pids = new HashMap<>();
    for (JsonNode s : CdpClients.sessions(admin)) {
      pids.put(s.path("key").asText(), s.path("pid").asLong());
    }
    assertThat(pids).containsKeys("bob", "carol");
    assertThat(pids.get("bob")).as("one browser per session").isNotEqualTo(pids.get("carol"));
    assertThat(ProcessHandle.of(pids.get("bob"))).isPresent();
    assertThat(ProcessHandle.of(pids.get("carol"))).isPresent();
    assertNoStraySession();
  }

  @Test
  void puppeteerBrowserUrlAndChromeRemoteInterfaceWorkUnchanged() throws Exception {
    CdpClients.Page puppeteer = run("puppeteer", "dave");
    assertThat(puppeteer.title()).as(herd.transcript()).isEqualTo("page for dave");
    assertThat(puppeteer.text()).isEqualTo("hello dave");

    // chrome-remote-interface gives up on an HTTP request after a fixed 10 s, less than a cold
    // browser start on a busy machine: like a user, it relies on the warm spare (pool.warm).
    await().atMost(Duration.ofSeconds(150)).until(() -> CdpClients.idleWorkers(admin) > 0);
    CdpClients.Page cri = run("cri", "erin");
    assertThat(cri.title()).isEqualTo("page for erin");
    assertThat(cri.text()).isEqualTo("hello erin");

    assertThat(CdpClients.sessionKeys(admin)).contains("dave", "erin");
    assertNoStraySession();
  }
}
