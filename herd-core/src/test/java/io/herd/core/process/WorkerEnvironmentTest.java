package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.sandbox.SandboxConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a worker's environment is built from, and in which order; no process involved. */
class WorkerEnvironmentTest {

  private static final Map<String, String> GATEWAY = Map.of(
      "PATH", "/opt/bin:/usr/bin", "LANG", "C.UTF-8", "TZ", "UTC",
      "HERD_ADMIN_TOKEN", "t0ken", "HERD_SESSION_SECRET", "s3cret", "AWS_SECRET_ACCESS_KEY", "x",
      "HTTPS_PROXY", "http://proxy:3128", "HOME", "/root");

  @Test
  void gatewaySecretsStayOutAndOnlyTheMinimalSetIsPassed() {
    ProcessWorkerConfig config = config().build();

    Map<String, String> env = WorkerEnvironment.build(GATEWAY, config, "w-7", 4242,
        Path.of("/w/herd-1-7-w-7"), Path.of("/w/herd-1-7-w-7/tmp"), Map.of());

    assertThat(env).containsExactly(
        Map.entry("PATH", "/opt/bin:/usr/bin"),
        Map.entry("HOME", "/w/herd-1-7-w-7"),
        Map.entry("TMPDIR", "/w/herd-1-7-w-7/tmp"),
        Map.entry("LANG", "C.UTF-8"),
        Map.entry("TZ", "UTC"),
        Map.entry("PORT", "4242"),
        Map.entry("HERD_WORKER_ID", "w-7"),
        Map.entry("HERD_WORKDIR", "/w/herd-1-7-w-7"));
  }

  @Test
  void workerEnvThenInheritEnvOverrideTheDefaults() {
    ProcessWorkerConfig config = config()
        .env(Map.of("HOME", "/srv/home", "CACHE", "{{workdir}}/cache", "HTTPS_PROXY", "none"))
        .inheritEnv(List.of("HTTPS_PROXY", "UNSET_IN_GATEWAY"))
        .build();

    Map<String, String> env = WorkerEnvironment.build(GATEWAY, config, "w-1", 1,
        Path.of("/w/s"), Path.of("/w/s/tmp"), Map.of("HOST", "10.213.0.2"));

    assertThat(env).containsEntry("HOME", "/srv/home")
        .containsEntry("CACHE", "/w/s/cache")
        .containsEntry("HTTPS_PROXY", "http://proxy:3128")
        .containsEntry("HOST", "10.213.0.2")
        .doesNotContainKeys("UNSET_IN_GATEWAY", "HERD_ADMIN_TOKEN");
  }

  @Test
  void aGatewayWithoutPathGivesWorkersTheStandardOne() {
    Map<String, String> env = WorkerEnvironment.build(Map.of(), config().build(), "w", 1,
        Path.of("/w/s"), Path.of("/w/s/tmp"), Map.of());

    assertThat(env).containsEntry("PATH", WorkerEnvironment.DEFAULT_PATH)
        .doesNotContainKeys("LANG", "LC_ALL", "TZ");
  }

  private static ProcessWorkerConfig.Builder config() {
    return ProcessWorkerConfig.builder().command("app").sandbox(SandboxConfig.none());
  }
}
