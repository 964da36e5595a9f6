package io.herd.server.vm;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.parsePrometheus;
import static io.herd.server.HttpClients.sum;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import io.herd.testkit.OciImageBuilder;
import io.herd.testkit.OciImageBuilder.Entry;
import io.herd.testkit.Processes;
import io.herd.testkit.StaticBinary;
import io.herd.vm.VmConfig;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code herd serve} with {@code worker.vm}, end to end as users run it: a gateway JVM of its own,
 * an OCI image built here from the static counter-server, real QEMU microVMs under whatever
 * accelerator the host offers (TCG on the build machine), real HTTP through the gateway.
 *
 * <p>One gateway runs through the whole story, so that it costs one cold boot (the template) and
 * a few clones: two keys are two VMs with their own counters, a repeat request stays on its VM, a
 * VM whose QEMU is killed ends only its own session (the other keeps counting, the crashed key
 * gets a fresh VM), an idle session is suspended (its QEMU gone) and resumed by its next request
 * with its counter intact, and SIGKILL of the gateway leaves no QEMU behind. Waits are bounds for a
 * busy two-core machine; nothing asserts time.
 *
 * <p>Needs {@code qemu-system-x86_64} and the guest kernel that {@code
 * herd-vm/kernel/fetch-kernel.sh} fetches; the cache directory of this test is outside {@code
 * /tmp} (sandboxed VMMs get a private {@code /tmp}) and deleted afterwards.
 */
class VmServeTest {

  private static final Duration START = Duration.ofSeconds(120);
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern COUNT = Pattern.compile("n=(\\d+) pid=\\d+ boot=(\\w+)");
  private static final Path KERNEL = VmConfig.defaultCacheDir().resolve("kernel/vmlinux");

  @TempDir
  Path dir;
  private Path cacheDir;

  @BeforeEach
  void cacheDirOutsideTmp() throws IOException {
    assertThat(KERNEL).as("the guest kernel: run herd-vm/kernel/fetch-kernel.sh").isRegularFile();
    Path parent = Files.createDirectories(Path.of("/var/cache/herd"));
    cacheDir = Files.createTempDirectory(parent, "vm-serve-test-");
    Files.setPosixFilePermissions(cacheDir, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void deleteCacheDir() throws IOException {
    if (cacheDir != null && Files.exists(cacheDir)) {
      try (Stream<Path> files = Files.walk(cacheDir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** An image holding only the static counter-server, listening on 8080. */
  private Path image() throws IOException {
    byte[] app = Files.readAllBytes(StaticBinary.counterServer());
    return OciImageBuilder.create()
        .layer(Entry.file("app", app, 0755))
        .entrypoint("/app")
        .cmd("8080")
        .exposedPorts("8080/tcp")
        .writeOciLayout(dir.resolve("images/app"));
  }

  private Path config(String pool) throws IOException {
    image();
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "listen: 127.0.0.1:0\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "session: { key: \"header:X-Session-ID\" }\n"
        + "worker:\n"
        + "  vm:\n"
        + "    image: ./images/app\n"
        + "    kernel: " + KERNEL + "\n"
        + "    cacheDir: " + cacheDir + "\n"
        + "    memory: 256MiB\n"
        + "  health: { path: /health, interval: 2s, timeout: 2s }\n"
        + "  startTimeout: 90s\n"
        + "  stopTimeout: 5s\n"
        + "pool: { " + pool + " }\n");
    return file;
  }

  @Test
  void vmSessionsAreSeparateSurviveCrashesOfOthersSuspendResumeAndDieWithTheGateway()
      throws Exception {
    Path config = config("min: 0, max: 4, warm: 0, ttl: 10m, acquireTimeout: 120s,"
        + " suspendAfter: 6s");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      herd.awaitLine("microVM workers: .*accel (tcg|kvm)", START);

      // Two keys, two VMs; a repeat request stays on its VM and its counter goes on.
      Count alice1 = count(herd, base, "alice");
      Count bob1 = count(herd, base, "bob");
      Count alice2 = count(herd, base, "alice");
      assertThat(alice1.n()).as("a clone starts from the template, which served no /count")
          .isEqualTo(1);
      assertThat(bob1.n()).as("bob's VM has its own counter").isEqualTo(1);
      assertThat(alice2.n()).as("alice's second request, on her VM").isEqualTo(2);
      String aliceRandom = get(base + "/random", "X-Session-ID", "alice").body();
      String bobRandom = get(base + "/random", "X-Session-ID", "bob").body();
      assertThat(aliceRandom).as("clones of one snapshot draw different random bytes")
          .isNotEqualTo(bobRandom);

      JsonNode alice = session(admin, "alice").orElseThrow();
      JsonNode bob = session(admin, "bob").orElseThrow();
      assertThat(alice.path("workerId").asText()).isNotEqualTo(bob.path("workerId").asText());
      long bobQemu = qemuUnder(bob.path("pid").asLong());
      long aliceQemu = qemuUnder(alice.path("pid").asLong());
      assertThat(bobQemu).as("one QEMU per session").isNotEqualTo(aliceQemu);
      herd.recordDescendants();

      // Bob's VM crashes: only his session ends; alice counts on; bob gets a fresh VM.
      ProcessHandle.of(bobQemu).orElseThrow().destroyForcibly();
      await("bob's session ends").atMost(WAIT).pollInterval(Duration.ofMillis(200))
          .until(() -> session(admin, "bob").isEmpty());
      assertThat(count(herd, base, "alice").n()).as("alice's VM was not touched").isEqualTo(3);
      Count bob2 = count(herd, base, "bob");
      assertThat(bob2.n()).as("bob's new VM starts its own count").isEqualTo(1);
      assertThat(session(admin, "bob").orElseThrow().path("workerId").asText())
          .isNotEqualTo(bob.path("workerId").asText());
      herd.recordDescendants();

      // Idle for suspendAfter: suspended, its QEMU gone; the next request resumes it.
      await("alice suspended").atMost(WAIT).pollInterval(Duration.ofMillis(250))
          .until(() -> session(admin, "alice").map(s -> s.path("state").asText())
              .orElse("gone").equals("suspended"));
      JsonNode suspended = session(admin, "alice").orElseThrow();
      assertThat(suspended.path("pid").isNull()).as("no process while suspended").isTrue();
      assertThat(Processes.isAlive(aliceQemu)).as("alice's QEMU ended").isFalse();
      Map<String, Double> metrics = parsePrometheus(get(admin + "/metrics").body());
      assertThat(sum(metrics, "herd_sessions_suspended")).isGreaterThanOrEqualTo(1);
      assertThat(sum(metrics, "herd_sessions_suspensions_total")).isGreaterThanOrEqualTo(1);

      Count alice4 = count(herd, base, "alice");
      assertThat(alice4.n()).as("resumed with its memory: the counter goes on").isEqualTo(4);
      assertThat(alice4.boot()).as("the same app, not a new start").isEqualTo(alice1.boot());
      assertThat(session(admin, "alice").orElseThrow().path("state").asText())
          .isEqualTo("active");
      assertThat(sum(parsePrometheus(get(admin + "/metrics").body()),
          "herd_sessions_resumes_total")).isGreaterThanOrEqualTo(1);

      // SIGKILL of the gateway: every QEMU it started goes with it.
      herd.recordDescendants();
      List<Long> qemus = herd.descendants().stream().filter(VmServeTest::isQemu)
          .map(ProcessHandle::pid).toList();
      assertThat(qemus).as("live QEMUs before the kill").isNotEmpty();
      herd.process().destroyForcibly();
      herd.awaitExit(WAIT);
      await("no QEMU outlives the gateway").atMost(WAIT).pollInterval(Duration.ofMillis(200))
          .until(() -> qemus.stream().noneMatch(Processes::isAlive)
              && herd.survivors().isEmpty());
      assertThat(ProcessHandle.allProcesses().filter(VmServeTest::isQemu)
          .filter(p -> p.info().arguments().map(a -> String.join(" ", a)
              .contains(cacheDir.toString())).orElse(false)).map(ProcessHandle::pid).toList())
          .as("no QEMU of this gateway's cache directory anywhere").isEmpty();
    }
  }

  /** One {@code GET /count} answer: the counter and the boot id drawn at the app's start. */
  record Count(int n, String boot) {}

  private static Count count(HerdProcess herd, String base, String key) throws Exception {
    HttpResponse<String> r = get(base + "/count", "X-Session-ID", key);
    assertThat(r.statusCode()).as("GET /count for %s: %s%n%s", key, r.body(), herd.transcript())
        .isEqualTo(200);
    Matcher m = COUNT.matcher(r.body());
    assertThat(m.find()).as("a counter-server answer: %s", r.body()).isTrue();
    return new Count(Integer.parseInt(m.group(1)), m.group(2));
  }

  private static Optional<JsonNode> session(String admin, String key) throws Exception {
    for (JsonNode s : JSON.readTree(get(admin + "/sessions").body()).path("sessions")) {
      if (s.path("key").asText().equals(key)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  /** The QEMU process under a worker's launcher pid (the one {@code /sessions} reports). */
  private static long qemuUnder(long launcher) {
    ProcessHandle root = ProcessHandle.of(launcher).orElseThrow(
        () -> new AssertionError("no process " + launcher));
    if (isQemu(root)) {
      return launcher;
    }
    return root.descendants().filter(VmServeTest::isQemu).findFirst()
        .orElseThrow(() -> new AssertionError("no QEMU under " + launcher)).pid();
  }

  private static boolean isQemu(ProcessHandle p) {
    return p.info().command().map(c -> c.endsWith("qemu-system-x86_64")).orElse(false);
  }
}
