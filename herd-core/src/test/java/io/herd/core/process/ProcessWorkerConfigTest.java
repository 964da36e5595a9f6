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
    assertThat(config.sandbox().enabled()).as("no sandbox unless asked for").isFalse();
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

    assertThat(config.commandFor(4242))
        .containsExactly("app", "--port=4242", "--addr", "127.0.0.1:4242");
    assertThat(config.envFor(4242))
        .containsEntry("URL", "http://127.0.0.1:4242/")
        .containsEntry("PORT", "4242");
    assertThat(config.command()).as("the template is unchanged").contains("--port={{port}}");
  }

  @Test
  void portIsAlwaysInTheEnvironment() {
    ProcessWorkerConfig config = ProcessWorkerConfig.builder().command("app").build();

    assertThat(config.envFor(5000)).containsExactly(Map.entry("PORT", "5000"));
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
