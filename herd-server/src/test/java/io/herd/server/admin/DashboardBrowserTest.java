package io.herd.server.admin;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.testkit.Processes;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium (Debian's {@code chromium} and {@code
 * chromium-driver}, driven by Selenium) against a real gateway ({@code herd serve} in its own
 * JVM) with real worker processes: the page loads and goes live, a session started by an HTTP
 * request through the gateway appears without a reload, ending it from the page ends it, a
 * worker drained from the page is drained, the token is asked for once when one is configured,
 * and the browser's console logs no error throughout.
 *
 * <p>Paths: {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver}, or the system properties
 * {@code herd.test.chromium} and {@code herd.test.chromedriver}. Every browser and driver process
 * this test starts is a descendant of the test JVM; whatever of them outlives {@code quit()} is
 * killed.
 */
class DashboardBrowserTest {

  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration SEEN = Duration.ofSeconds(20);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHROMIUM = System.getProperty("herd.test.chromium",
      "/usr/bin/chromium");
  private static final String CHROMEDRIVER = System.getProperty("herd.test.chromedriver",
      "/usr/bin/chromedriver");

  @TempDir Path dir;
  @TempDir Path profile;

  private ChromeDriverService service;
  private WebDriver browser;
  private final Set<ProcessHandle> browserProcesses = new HashSet<>();

  @BeforeEach
  void browserIsInstalled() {
    assertThat(Files.isExecutable(Path.of(CHROMIUM)))
        .as("%s is needed (apt-get install chromium chromium-driver)", CHROMIUM).isTrue();
    assertThat(Files.isExecutable(Path.of(CHROMEDRIVER)))
        .as("%s is needed (apt-get install chromium-driver)", CHROMEDRIVER).isTrue();
  }

  @AfterEach
  void closeBrowser() {
    recordBrowserProcesses();
    try {
      if (browser != null) {
        browser.quit();
      }
    } finally {
      if (service != null) {
        service.stop();
      }
      for (ProcessHandle p : browserProcesses) {
        p.destroyForcibly();
      }
      for (ProcessHandle p : browserProcesses) {
        assertThat(Processes.awaitGone(p.pid(), Duration.ofSeconds(10)))
            .as("browser process %d gone", p.pid()).isTrue();
      }
    }
  }

  @Test
  void showsANewSessionLiveEndsItAndDrainsAWorkerWithoutConsoleErrors() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String gateway = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      open(admin + "/");
      awaitLive();

      HttpResponseText hello = request(gateway, "browser-alice");
      assertThat(hello.status()).as(hello.body()).isEqualTo(200);

      // Appears without a reload: the page is never navigated again in this test.
      WebElement row = new WebDriverWait(browser, SEEN).until(ExpectedConditions
          .presenceOfElementLocated(By.cssSelector("tr[data-session='browser-alice']")));
      assertThat(row.getText()).contains("browser-alice", "w-");
      await().atMost(SEEN).untilAsserted(() -> assertThat(eventTypes())
          .contains("sessionStarted", "workerStarted"));
      await().atMost(SEEN).untilAsserted(() -> assertThat(workerRows()).isNotEmpty());

      browser.findElement(By.cssSelector("tr[data-session='browser-alice'] button.end")).click();
      new WebDriverWait(browser, SEEN).until(ExpectedConditions.invisibilityOfElementLocated(
          By.cssSelector("tr[data-session='browser-alice']")));
      assertThat(JSON.readTree(get(admin + "/sessions").body()).path("sessions"))
          .as("ended in the pool, not just on the page").isEmpty();
      await().atMost(SEEN).untilAsserted(() -> assertThat(eventTypes())
          .contains("sessionEnded"));

      await().atMost(SEEN).until(() -> idleWorker(admin) != null);
      String idle = idleWorker(admin);
      // The API may know the worker up to a snapshot (a second) before the page does.
      new WebDriverWait(browser, SEEN).until(ExpectedConditions.elementToBeClickable(
          By.cssSelector("tr[data-worker='" + idle + "'] button.drain"))).click();
      await().atMost(SEEN).untilAsserted(() -> assertThat(
          JSON.readTree(get(admin + "/workers").body()).path("workers").findValuesAsText("id"))
          .as("the drained idle worker stops").doesNotContain(idle));
      await().atMost(SEEN).untilAsserted(() -> assertThat(workerRows())
          .as("the drained worker's row goes").doesNotContain(idle));

      // A worker that dies under its session: the crash shows, with its exit and stderr box.
      assertThat(get(gateway + "/exit?code=3", "X-Session-ID", "browser-crash").statusCode())
          .isEqualTo(200);
      WebElement crash = new WebDriverWait(browser, SEEN).until(ExpectedConditions
          .presenceOfElementLocated(By.cssSelector("#events li[data-type='workerCrashed']")));
      assertThat(crash.getText()).contains("exited with code 3");
      assertThat(crash.findElements(By.tagName("pre"))).as("the stderr tail box").hasSize(1);

      assertNoConsoleErrors();
    }
  }

  @Test
  void aWorkerThatCannotStartShowsItsStderr() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    String yaml = Files.readString(config);
    Files.writeString(config, yaml.replace("  command: " + TestConfigs.testWorkerCommand(),
        "  command: " + TestConfigs.testWorkerCommand("--exit-at-start", "3")));
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String admin = herd.adminUri(START);
      open(admin + "/");
      awaitLive();

      // pool.warm: 1 makes the gateway start a worker at once; it fails, and retries back off.
      WebElement failure = new WebDriverWait(browser, START).until(ExpectedConditions
          .presenceOfElementLocated(By.cssSelector("#events li[data-type='spawnFailed'] pre")));
      assertThat(failure.getText()).as("the failed worker's stderr")
          .contains("boom: bad config");

      assertNoConsoleErrors();
    }
  }

  @Test
  void asksForTheTokenOnceAndThenGoesLive() throws Exception {
    String token = "dashboard-test-token-0123456789";
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    Files.writeString(config, Files.readString(config).replace("admin: { listen: 127.0.0.1:0 }",
        "admin: { listen: 127.0.0.1:0, token: ${HERD_TOKEN} }"));
    try (HerdProcess herd = HerdProcess.start(Map.of("HERD_TOKEN", token), "serve", "--config",
        config.toString())) {
      String gateway = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      open(admin + "/");

      WebElement input = new WebDriverWait(browser, SEEN).until(
          ExpectedConditions.visibilityOfElementLocated(By.id("token-input")));
      input.sendKeys(token);
      browser.findElement(By.cssSelector("#token-form button[type=submit]")).click();
      awaitLive();
      assertThat(browser.findElement(By.id("token-form")).isDisplayed()).isFalse();

      request(gateway, "browser-bob");
      new WebDriverWait(browser, SEEN).until(ExpectedConditions
          .presenceOfElementLocated(By.cssSelector("tr[data-session='browser-bob']")));

      assertNoConsoleErrors();
    }
  }

  // ------------------------------------------------------------------ helpers

  private void open(String url) throws IOException {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile);
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort()
        .build();
    browser = new ChromeDriver(service, options);
    recordBrowserProcesses();
    browser.get(url);
    recordBrowserProcesses();
  }

  private void awaitLive() {
    new WebDriverWait(browser, SEEN).until(
        ExpectedConditions.textToBe(By.id("status"), "live"));
  }

  private record HttpResponseText(int status, String body) {}

  /** A request through the gateway that starts (or uses) session {@code key}. */
  private static HttpResponseText request(String gateway, String key) throws Exception {
    var resp = get(gateway + "/pid", "X-Session-ID", key);
    return new HttpResponseText(resp.statusCode(), resp.body());
  }

  // Read in one script call: the page updates its rows every second, so an element found in
  // one WebDriver call may be gone by the next (a stale element), which is no failure.
  private List<String> eventTypes() {
    return texts("return Array.from(document.querySelectorAll('#events li'),"
        + " li => li.dataset.type);");
  }

  /** The ids of the workers in the page's table. */
  private List<String> workerRows() {
    return texts("return Array.from(document.querySelectorAll("
        + "'table.workers tbody tr[data-worker]'), tr => tr.dataset.worker);");
  }

  private List<String> texts(String script) {
    List<?> values = (List<?>) ((JavascriptExecutor) browser).executeScript(script);
    return values.stream().map(String::valueOf).collect(Collectors.toList());
  }

  /** An idle worker's id from the admin API, or null. */
  private static String idleWorker(String admin) throws Exception {
    for (var w : JSON.readTree(get(admin + "/workers").body()).path("workers")) {
      if (w.path("state").asText().equals("IDLE")) {
        return w.path("id").asText();
      }
    }
    return null;
  }

  private void assertNoConsoleErrors() {
    List<LogEntry> entries = browser.manage().logs().get(LogType.BROWSER).getAll();
    assertThat(entries).as("browser console: %s", entries)
        .noneMatch(e -> e.getLevel().intValue() >= Level.SEVERE.intValue());
  }

  /** Chromium and chromedriver run as descendants of this JVM; remember them to clean up. */
  private void recordBrowserProcesses() {
    ProcessHandle.current().descendants()
        .filter(p -> p.info().command().map(c -> c.contains("chrom")).orElse(false))
        .forEach(browserProcesses::add);
  }
}
