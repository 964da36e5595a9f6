package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.InvalidConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessWorkerConfigTest {

  @Test
  void defaultsSuitAnHttpWorker() {
    ProcessWorkerConfig config = ProcessWorkerConfig.builder().command("app").build();

    assertThat(config.command()).containsExactly("app");
    assertThat(config.env()).isEmpty();
    assertThat(config.workdir()).isEmpty();
    assertThat(config.healthPath()).isEqualTo("/health");
    assertThat(config.startTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.stopTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.sandbox().enabled()).as("the secure defaults unless opted out").isTrue();
  }

  @Test
  void emptyCommandIsReportedWithTheExpectedShape() {
    assertThatThrownBy(() -> ProcessWorkerConfig.builder().build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessage("worker.command is empty: [] (expected: a program and its arguments)");
  }

  @Test
  void everyProblemIsReportedAtOnce(@TempDir Path dir) throws Exception {
    Path file = Files.createFile(dir.resolve("file"));
    Map<String, String> env = new HashMap<>();
    env.put("A=B", "x");
    env.put("NULL", null);
    env.put("PORT", "8080");

    InvalidConfigException error = (InvalidConfigException) catchThrowable(() ->
        ProcessWorkerConfig.builder()
            .command(Arrays.asList(" ", null))
            .env(env)
            .workdir(file)
            .healthPath("health check")
            .startTimeout(Duration.ZERO)
            .stopTimeout(null)
            .build());

    assertThat(error.problems()).containsExactlyInAnyOrder(
        "worker.command[1] is null: [ , null] (expected: a string)",
        "worker.command[0] is blank: ' ' (expected: a program name or path)",
        "worker.env has an invalid name: 'A=B' (expected: a non-empty name without '=' or NUL)",
        "worker.env.NULL is null: null (expected: a string, \"\" if empty)",
        "worker.env.PORT conflicts with the worker's port: 8080 (expected: unset or {{port}};"
            + " Herd sets PORT to the port it picks)",
        "worker.workdir is not a directory: " + file + " (expected: an existing directory)",
        "worker.health.path is invalid: health check (expected: a path starting with '/',"
            + " printable ASCII without spaces)",
        "worker.startTimeout is not positive: PT0S (expected: > 0)",
        "worker.stopTimeout is missing: null (expected: a positive duration)");
    assertThat(error.getMessage()).contains("; ");
  }

  @Test
  void missingWorkdirIsReported(@TempDir Path dir) {
    assertThatThrownBy(() -> ProcessWorkerConfig.builder()
            .command("app").workdir(dir.resolve("nope")).build())
        .hasMessageContaining("worker.workdir does not exist: " + dir.resolve("nope"));
  }

  @Test
  void portPlaceholdersAreReplacedInCommandAndEnvironment() {
    ProcessWorkerConfig config = ProcessWorkerConfig.builder()
        .command("app", "--port={{port}}", "--addr", "127.0.0.1:{{.Port}}")
        .env("URL", "http://127.0.0.1:{{port}}/")
        .env("PORT", "{{.Port}}")
        .build();

    assertThat(config.commandFor(4242, null))
        .containsExactly("app", "--port=4242", "--addr", "127.0.0.1:4242");
    assertThat(config.envFor(4242, null))
        .containsEntry("URL", "http://127.0.0.1:4242/")
        .containsEntry("PORT", "4242");
    assertThat(config.command()).as("the template is unchanged").contains("--port={{port}}");
  }

  @Test
  void workdirPlaceholderIsReplacedInCommandAndEnvironment() {
    ProcessWorkerConfig config = ProcessWorkerConfig.builder()
        .command("chromium", "--user-data-dir={{workdir}}/profile")
        .env("CACHE", "{{workdir}}/cache")
        .build();

    assertThat(config.commandFor(1, Path.of("/w/herd-1")))
        .containsExactly("chromium", "--user-data-dir=/w/herd-1/profile");
    assertThat(config.envFor(1, Path.of("/w/herd-1")))
        .containsExactly(Map.entry("CACHE", "/w/herd-1/cache"));
  }

  @Test
  void inheritEnvTakesVariableNamesOnly() {
    assertThatThrownBy(() -> ProcessWorkerConfig.builder().command("app")
            .inheritEnv(List.of("HTTPS_PROXY", "1BAD", "A=B", "PORT")).build())
        .isInstanceOf(io.herd.core.InvalidConfigException.class)
        .hasMessageContaining("worker.inheritEnv[1] is not a variable name: '1BAD'")
        .hasMessageContaining("worker.inheritEnv[2] is not a variable name: 'A=B'")
        .hasMessageContaining("worker.inheritEnv[3] conflicts with the worker's port: PORT")
        .hasMessageNotContaining("inheritEnv[0]");
  }

  @Test
  void libraryDefaultIsTheSecureSandbox() {
    ProcessWorkerConfig config = ProcessWorkerConfig.builder().command("app").build();

    assertThat(config.sandbox().enabled()).isTrue();
    assertThat(config.sandbox().uid()).isEqualTo(io.herd.core.sandbox.SandboxConfig.UidMode.AUTO);
    assertThat(config.sandbox().namespaces()).isTrue();
  }

  @Test
  void configIsImmutableAndCopiesItsInputs() {
    List<String> command = new ArrayList<>(List.of("app"));
    ProcessWorkerConfig.Builder builder = ProcessWorkerConfig.builder().command(command);
    ProcessWorkerConfig config = builder.build();

    command.add("changed");
    builder.env("LATE", "x");

    assertThat(config.command()).containsExactly("app");
    assertThat(config.env()).isEmpty();
    assertThatThrownBy(() -> config.command().add("x"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(config.toBuilder().build().command()).containsExactly("app");
  }

  @Test
  void toStringMasksEnvironmentValues() {
    ProcessWorkerConfig config =
        ProcessWorkerConfig.builder().command("app").env("API_KEY", "s3cret").build();

    assertThat(config.toString()).contains("API_KEY").doesNotContain("s3cret");
  }

  private static Throwable catchThrowable(Runnable action) {
    try {
      action.run();
    } catch (Throwable t) {
      return t;
    }
    throw new AssertionError("expected an exception");
  }
}
