package io.herd.server;

import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes herd.yaml files for end-to-end tests: ephemeral loopback ports for the gateway and the
 * admin API (read back from herd's log), and the testkit's {@code TestWorker} as the worker.
 * Stateless.
 */
public final class TestConfigs {

  private TestConfigs() {}

  /** The TestWorker command as a YAML flow list. */
  public static String testWorkerCommand(String... extraArgs) {
    List<String> argv = TestWorkerCommand.argv(extraArgs);
    return argv.stream().map(TestConfigs::quote).collect(Collectors.joining(", ", "[", "]"));
  }

  /** A config with session key {@code rule}, plus {@code extra} YAML appended. */
  public static Path write(Path dir, String rule, String extra) throws IOException {
    String yaml = "listen: 127.0.0.1:0\n"
        + "admin: { listen: 127.0.0.1:0 }\n"
        + "session: { key: " + quote(rule) + " }\n"
        + "worker:\n"
        + "  command: " + testWorkerCommand() + "\n"
        + "  health: { path: /health, interval: 1s, timeout: 2s }\n"
        + "  startTimeout: 30s\n"
        + "  stopTimeout: 5s\n"
        + "pool: { min: 0, max: 4, warm: 1, ttl: 5m, reuse: false }\n"
        // The tests compare the pid a worker reports with the admin API's; inside a PID namespace
        // every worker is pid 1 to itself. Limits stay on; herd-core's sandbox tests cover the rest.
        + (extra.contains("sandbox:") ? "" : "sandbox: { namespaces: false }\n")
        + extra;
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, yaml);
    // The file's directory is the workers' working directory; under root they run as leased
    // UIDs (sandbox.uid: auto), which may not enter a 0700 temporary directory.
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions
        .fromString("rwxr-xr-x"));
    return file;
  }

  /** A YAML double-quoted string. */
  public static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
