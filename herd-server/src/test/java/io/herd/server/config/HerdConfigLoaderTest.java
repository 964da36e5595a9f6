package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.core.sandbox.EgressRule;
import io.herd.core.sandbox.SandboxConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HerdConfigLoaderTest {

  @TempDir
  Path dir;

  /**
   * The config files' directory is the workers' working directory: one that workers under UIDs
   * of their own (root's default) may enter, as in a real installation, so that only the
   * warnings a test is about are reported.
   */
  @BeforeEach
  void workersMayEnterTheConfigDirectory() throws Exception {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static final String FULL = """
      listen: 127.0.0.1:18080
      admin: { listen: 127.0.0.1:19090, token: ${HERD_ADMIN_TOKEN} }
      session: { key: "cookie:sid", concurrency: 1, queue: 10, secret: "${SECRET:-0123456789abcdef}", issueKeys: true }
      worker:
        command: [sh, -c, "exec sleep 1000", "{{port}}"]
        env: { MODEL_DIR: /models, GREETING: "a: b # not a comment" }
        workdir: .
        health: { path: /ready, interval: 250ms, timeout: 2s, failures: 4 }
        startTimeout: 1m
        stopTimeout: 5s
      pool: { name: api, min: 1, max: 10, warm: 2, ttl: 5m, maxLifetime: 1h, reuse: false,
              maxQueue: 100, acquireTimeout: 30s, evictIdleOnPressure: true,
              maxSessionsPerWorker: 3, spawnBackoffInitial: 50ms, spawnBackoffMax: 2s }
      proxy: { headerTimeout: 10s, idleTimeout: 60s, connectTimeout: 2s, upstreamTimeout: 1m,
               drainTimeout: 3s, retryAfter: 2s, maxInitialLineLength: 4KiB,
               maxHeaderSize: 32KiB, maxChunkSize: 1MiB, trustedProxies: [10.0.0.0/8],
               ioThreads: 2, maxIdleUpstreamPerWorker: 4 }
      """;

  @Test
  void everyKeyOfAFullFileIsBound() {
    HerdConfig c = new HerdConfigLoader(Map.of("HERD_ADMIN_TOKEN", "abcdefghijklmnopq"))
        .parse("herd.yaml", FULL, dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.listen()).isEqualTo(new HostPort("127.0.0.1", 18080));
    assertThat(c.admin().listen()).isEqualTo(new HostPort("127.0.0.1", 19090));
    assertThat(c.admin().token()).contains("abcdefghijklmnopq");
    assertThat(c.admin().toString()).doesNotContain("abcdefghijklmnopq");
    assertThat(c.sessionKey()).isEqualTo("cookie:sid");
    assertThat(c.worker().command()).containsExactly("sh", "-c", "exec sleep 1000", "{{port}}");
    assertThat(c.worker().env()).containsEntry("MODEL_DIR", "/models")
        .containsEntry("GREETING", "a: b # not a comment");
    assertThat(c.worker().workdir()).contains(dir);
    assertThat(c.worker().healthPath()).isEqualTo("/ready");
    assertThat(c.worker().startTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.worker().stopTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.pool().name()).isEqualTo("api");
    assertThat(c.pool().min()).isEqualTo(1);
    assertThat(c.pool().max()).isEqualTo(10);
    assertThat(c.pool().warm()).isEqualTo(2);
    assertThat(c.pool().ttl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.pool().maxLifetime()).contains(Duration.ofHours(1));
    assertThat(c.pool().reuse()).isFalse();
    assertThat(c.pool().maxQueue()).isEqualTo(100);
    assertThat(c.pool().evictIdleOnPressure()).isTrue();
    assertThat(c.pool().maxSessionsPerWorker()).isEqualTo(3);
    assertThat(c.pool().healthInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.pool().healthFailures()).isEqualTo(4);
    assertThat(c.pool().spawnBackoffInitial()).isEqualTo(Duration.ofMillis(50));
    assertThat(c.proxy().responseTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.proxy().connectTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.proxy().drainTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.proxy().maxInitialLineLength()).isEqualTo(4096);
    assertThat(c.proxy().maxHeaderSize()).isEqualTo(32 * 1024);
    assertThat(c.proxy().maxChunkSize()).isEqualTo(1024 * 1024);
    assertThat(c.proxy().trustedProxies()).containsExactly("10.0.0.0/8");
    assertThat(c.proxy().sessionConcurrency()).isEqualTo(1);
    assertThat(c.proxy().sessionQueue()).isEqualTo(10);
    assertThat(c.proxy().issueKeys()).isTrue();
    assertThat(c.proxy().signer()).isPresent();
    assertThat(c.tls()).isEmpty();
  }

  @Test
  void minimalFileGetsTheDocumentedDefaults() {
    HerdConfig c = new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "worker:\n  command: [sh]\n", dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.listen().toString()).isEqualTo("127.0.0.1:8080");
    assertThat(c.admin().listen().toString()).isEqualTo("127.0.0.1:9090");
    assertThat(c.admin().token()).isEmpty();
    assertThat(c.sessionKey()).isEqualTo("header:X-Session-ID");
    assertThat(c.worker().healthPath()).isEqualTo("/health");
    assertThat(c.worker().workdir()).as("relative to the config file").contains(dir);
    assertThat(c.pool().max()).isEqualTo(10);
    assertThat(c.proxy().drainTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void accessLogIsTextByDefaultAndCanBeJsonOrOff() {
    assertThat(new HerdConfigLoader(Map.of()).parse("herd.yaml", "worker:\n  command: [sh]\n",
        dir, HerdConfigLoader.Overrides.NONE).logging().access())
        .isEqualTo(io.herd.server.logging.AccessLogFormat.TEXT);
    assertThat(new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "worker:\n  command: [sh]\nlogging:\n  access: json\n", dir,
        HerdConfigLoader.Overrides.NONE).logging().access())
        .isEqualTo(io.herd.server.logging.AccessLogFormat.JSON);
    assertThat(new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "worker:\n  command: [sh]\nlogging: { access: off }\n", dir,
        HerdConfigLoader.Overrides.NONE).logging().access())
        .isEqualTo(io.herd.server.logging.AccessLogFormat.OFF);
  }

  @Test
  void sandboxNetworkModeAndEgressAreBound() {
    HerdConfig c = new HerdConfigLoader(Map.of("DB", "10.1.2.3:5432")).parse("herd.yaml", """
        worker:
          command: [sh]
        sandbox:
          network: isolated
          networkRange: 10.99.0.0/20
          egress: [internet, "${DB}", 192.0.2.0/24]
          networkSpares: 0
        """, dir, HerdConfigLoader.Overrides.NONE);

    SandboxConfig sandbox = c.worker().sandbox();
    assertThat(sandbox.network()).isEqualTo(SandboxConfig.NetworkMode.ISOLATED);
    assertThat(sandbox.networkRange()).isEqualTo("10.99.0.0/20");
    assertThat(sandbox.egress()).extracting(EgressRule::toString)
        .containsExactly("internet", "10.1.2.3:5432", "192.0.2.0/24");
    assertThat(sandbox.networkSpares()).isZero();
    assertThat(new HerdConfigLoader(Map.of()).parse("herd.yaml", "worker:\n  command: [sh]\n",
        dir, HerdConfigLoader.Overrides.NONE).worker().sandbox().network())
        .as("the default").isEqualTo(SandboxConfig.NetworkMode.AUTO);
  }

  @Test
  void environmentDefaultsApplyWhenUnsetOrEmptyAndDollarDollarIsALiteralDollar() {
    HerdConfig c = new HerdConfigLoader(Map.of("EMPTY", "", "MAX", "7")).parse("herd.yaml", """
        worker:
          command: [sh, "${UNSET:-fallback}", "${EMPTY:-was-empty}", "$${NOT_A_REF}", "${MAX}"]
        pool: { max: "${MAX}", warm: 0 }
        """, dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.worker().command())
        .containsExactly("sh", "fallback", "was-empty", "${NOT_A_REF}", "7");
    assertThat(c.pool().max()).isEqualTo(7);
  }

  @Test
  void unsetVariableInAnUnusedPlaceIsNoError() {
    HerdConfig c = new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "# token: ${NOT_SET}\nworker:\n  command: [sh]\n", dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.worker().command()).containsExactly("sh");
  }

  @Test
  void overridesReplaceTheFileAndAreValidatedWithIt() {
    HerdConfigLoader loader = new HerdConfigLoader(Map.of());
    HerdConfig c = loader.parse("herd.yaml", "worker:\n  command: [sh]\n", dir,
        new HerdConfigLoader.Overrides(HostPort.parse("127.0.0.1:0"), HostPort.parse(
            "127.0.0.1:0")));
    assertThat(c.listen().port()).isZero();

    assertThatThrownBy(() -> loader.parse("herd.yaml", "worker:\n  command: [sh]\n", dir,
        new HerdConfigLoader.Overrides(null, HostPort.parse("0.0.0.0:9999"))))
        .isInstanceOf(InvalidConfigFileException.class)
        .hasMessageContaining("admin.token is missing while admin.listen is not a loopback");
  }

  @Test
  void missingProgramIsAWarningNotAnError() {
    HerdConfig c = new HerdConfigLoader(Map.of()).parse("herd.yaml",
        "worker:\n  command: [no-such-program-herd-test]\n", dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.warnings()).extracting(ConfigProblem::toString).containsExactly(
        "herd.yaml:2: warning: worker.command[0] is not an executable on this machine:"
            + " no-such-program-herd-test (expected at serve time: installed on the PATH or an"
            + " existing path; validation passes since the file may be meant for another"
            + " machine)");
  }

  /**
   * The first error many users meet as root: a checkout inside a directory only root may enter
   * (as {@code mktemp -d} makes), whose workers under leased UIDs cannot enter the config file's
   * directory, their working directory. Serve fails every spawn for it; validate said "valid".
   */
  @Test
  void aWorkdirThatIsolatedWorkersCannotEnterIsAWarning() throws Exception {
    assumeThat(System.getProperty("user.name")).as("root: workers get UIDs of their own")
        .isEqualTo("root");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Path conf = Files.createDirectories(dir.resolve("conf"));
    Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path file = conf.resolve("herd.yaml");
    Files.writeString(file, "worker:\n  command: [sh, app.sh]\n");

    HerdConfig c = new HerdConfigLoader(Map.of()).load(file, HerdConfigLoader.Overrides.NONE);

    assertThat(c.warnings()).extracting(ConfigProblem::toString).containsExactly(
        file + ":1: warning: sandbox.uid is auto but worker.workdir is " + conf + ", which a"
            + " worker UID cannot reach: " + dir + " is not searchable by others (expected: chmod"
            + " o+x " + dir + ", or set worker.workdir to a directory others can enter)");

    Files.writeString(file, "worker:\n  command: [sh, app.sh]\nsandbox: { uid: shared }\n");
    assertThat(HerdConfigLoader.fromEnvironment().load(file, HerdConfigLoader.Overrides.NONE)
        .warnings()).as("workers that run as herd's own user enter it").isEmpty();
  }

  @Test
  void missingFileIsOneProblemNamingIt() {
    Path missing = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> HerdConfigLoader.fromEnvironment().load(missing,
        HerdConfigLoader.Overrides.NONE))
        .isInstanceOf(InvalidConfigFileException.class)
        .satisfies(e -> assertThat(((InvalidConfigFileException) e).problems())
            .extracting(ConfigProblem::toString)
            .containsExactly(missing + ": the file does not exist: " + missing
                + " (expected: a YAML file; see docs/config.md)"));
  }

  @Test
  void loadResolvesRelativePathsAgainstTheFilesDirectory() throws Exception {
    Path sub = Files.createDirectories(dir.resolve("conf/app"));
    Path file = dir.resolve("conf/herd.yaml");
    Files.writeString(file, "worker:\n  command: [sh]\n  workdir: app\n");

    HerdConfig c = HerdConfigLoader.fromEnvironment().load(file, HerdConfigLoader.Overrides.NONE);

    assertThat(c.worker().workdir()).contains(sub);
    assertThat(c.source()).isEqualTo(file.toString());
    assertThat(List.of(c.warnings().size())).containsExactly(0);
  }

  @Test
  void adminHostsAndOriginsAreBoundInBrowserForm() {
    HerdConfig c = new HerdConfigLoader(Map.of()).parse("herd.yaml", """
        admin:
          hosts: [herd.internal, "FD00::5", 10.0.0.5]
          origins: ["https://Ops.Example:443", "http://127.0.0.1:3000"]
        worker: { command: [sh] }
        """, dir, HerdConfigLoader.Overrides.NONE);

    assertThat(c.admin().hosts()).containsExactly("herd.internal", "fd00::5", "10.0.0.5");
    assertThat(c.admin().origins()).extracting(WebOrigin::toString)
        .containsExactly("https://ops.example", "http://127.0.0.1:3000");
    assertThat(c.admin().origins().get(0)).isEqualTo(WebOrigin.parse("https://ops.example"));
  }

  // --- literal secrets in a file others can read ---------------------------------------------

  private static final String SECRETS = """
      admin: { token: 0123456789abcdef-literal }
      session: { secret: "${HERD_TEST_SECRET}" }
      worker: { command: [sh] }
      """;

  @Test
  void literalSecretInAFileOthersCanReadIsAWarningNamingTheFix() throws Exception {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, SECRETS);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    HerdConfig c = new HerdConfigLoader(Map.of("HERD_TEST_SECRET", "0123456789abcdef0123"))
        .load(file, HerdConfigLoader.Overrides.NONE);

    assertThat(c.warnings()).extracting(ConfigProblem::toString).containsExactly(
        file + ":1: warning: admin.token is a literal secret in a file other users can read: "
            + file + " (rw-r--r--) (expected: chmod 600 " + file + ", or token:"
            + " ${HERD_ADMIN_TOKEN} with the value in herd's environment)");
  }

  @Test
  void literalSecretInAFileOnlyItsOwnerCanReadIsFine() throws Exception {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, SECRETS);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    HerdConfig c = new HerdConfigLoader(Map.of("HERD_TEST_SECRET", "0123456789abcdef0123"))
        .load(file, HerdConfigLoader.Overrides.NONE);

    assertThat(c.warnings()).isEmpty();
  }

  @Test
  void defaultInsideAReferenceIsALiteralSecretToo() throws Exception {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, """
        admin: { token: "${HERD_TEST_UNSET:-}" }
        session: { secret: "${HERD_TEST_UNSET:-0123456789abcdef0123}" }
        worker: { command: [sh] }
        """);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

    HerdConfig c = new HerdConfigLoader(Map.of()).load(file, HerdConfigLoader.Overrides.NONE);

    assertThat(c.warnings()).extracting(ConfigProblem::toString).singleElement(
        org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .startsWith(file + ":2: warning: session.secret is a literal secret in a file other"
            + " users can read: " + file + " (rw-r-----) (expected: chmod 600 " + file
            + ", or secret: ${HERD_SESSION_SECRET}");
  }
}
