package io.herd.server.cli;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.server.HerdMain;
import io.herd.server.HerdProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. The gateway runs
 * in a session (and process group) of its own, as a shell's foreground job would, with SIGINT at
 * its default action (a JVM started by a non-interactive shell, like the test's, may inherit it
 * ignored; the wrapper resets it). Workers must not get the SIGINT: the gateway alone does, and
 * stops them itself with SIGTERM, so they exit "stopped", not "killed by signal 2".
 */
class CtrlCTest {

  /**
   * A python worker whose exit code tells which signal it got: 0 after SIGTERM (the gateway's
   * stop), 42 after SIGINT (the terminal's, which must not reach it).
   */
  private static final String WORKER = String.join("\n",
      "import http.server, signal, sys",
      "def exit_with(code):",
      "    def handler(signum, frame):",
      "        sys.exit(code)",
      "    return handler",
      "signal.signal(signal.SIGINT, exit_with(42))",
      "signal.signal(signal.SIGTERM, exit_with(0))",
      "class Handler(http.server.BaseHTTPRequestHandler):",
      "    def do_GET(self):",
      "        self.send_response(200)",
      "        self.send_header('Content-Length', '2')",
      "        self.end_headers()",
      "        self.wfile.write(b'ok')",
      "    def log_message(self, *args):",
      "        pass",
      "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()",
      "");

  /** Resets SIGINT to its default action, then execs the rest of its arguments. */
  private static final String DEFAULT_SIGINT = "import os, signal, sys;"
      + " signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])";

  @Test
  void ctrlCReachesOnlyTheGatewayWhichStopsItsWorkersCleanly(@TempDir Path tmp) throws Exception {
    // Readable by the workers' own UIDs (a gateway under root gives each worker one).
    Path dir = Files.createDirectory(tmp.resolve("ctrl-c"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path worker = Files.writeString(dir.resolve("worker.py"), WORKER, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(worker, PosixFilePermissions.fromString("rw-r--r--"));
    Path config = Files.writeString(dir.resolve("herd.yaml"), String.join("\n",
        "listen: 127.0.0.1:0",
        "admin: { listen: 127.0.0.1:0 }",
        "session: { key: 'header:X-Session-ID' }",
        "worker:",
        "  command: [/usr/bin/python3, " + worker + ", '{{port}}']",
        "  health: { path: / }",
        "  stopTimeout: 20s",
        "pool: { min: 0, max: 4, warm: 1 }",
        ""), StandardCharsets.UTF_8);

    List<String> argv = new ArrayList<>(List.of("/usr/bin/setsid", "/usr/bin/python3", "-c",
        DEFAULT_SIGINT,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", System.getProperty("surefire.test.class.path",
            System.getProperty("java.class.path")),
        HerdMain.class.getName(), "serve", "--config", config.toString()));
    try (HerdProcess herd = HerdProcess.launch(argv, Map.of())) {
      String base = herd.awaitServing(Duration.ofSeconds(60));
      assertThat(get(base + "/", "X-Session-ID", "alice").body()).isEqualTo("ok");
      // The warm spare too: two workers running when Ctrl-C comes.
      herd.awaitLine("worker w-2 started", Duration.ofSeconds(60));
      long pid = herd.process().pid();
      assertThat(Files.readString(Path.of("/proc", Long.toString(pid), "stat")).split(" ")[4])
          .as("the gateway leads its own session, as a foreground job's leader would")
          .isEqualTo(Long.toString(pid));
      assertThat(herd.descendants()).anySatisfy(p -> assertThat(p.info().commandLine()
          .orElse("")).contains("worker.py"));

      herd.recordDescendants();
      Process ctrlC = new ProcessBuilder("kill", "-INT", "--", "-" + pid).inheritIO().start();
      assertThat(ctrlC.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(ctrlC.exitValue()).isZero();

      int code = herd.awaitExit(Duration.ofSeconds(60));
      String log = herd.transcript();
      assertThat(code).as(log).isZero(); // docs/cli.md: SIGINT stops cleanly and exits 0
      assertThat(log).contains("received SIGINT: shutting down", "herd stopped");
      assertThat(log).as("workers are stopped by the gateway, not by the terminal's SIGINT")
          .doesNotContain("code 42")
          .doesNotContain("signal 2")
          .contains("worker w-1 stopped: stopped: exited with code 0",
              "worker w-2 stopped: stopped: exited with code 0")
          .doesNotContain("timer tasks pending");
      assertThat(herd.survivors()).isEmpty();
    }
  }
}
