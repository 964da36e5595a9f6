package io.herd.server.cli;

import static io.herd.server.HttpClients.get;
import static io.herd.server.HttpClients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code herd logs --session} end to end: a real {@code herd serve} in a subprocess whose
 * TestWorker prints a line per request, read back through the admin API by the CLI; and the
 * access log on the server's standard output.
 */
class LogsCommandTest {

  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  /** Runs {@code herd args} in this JVM: exit code, stdout, stderr. */
  private record Run(int exit, String out, String err) {}

  private static Run herd(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = HerdCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void showsOneSessionsWorkerOutputAndTheAccessLogGoesToStdout() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      assertThat(get(base + "/pid", "X-Session-ID", "alice").statusCode()).isEqualTo(200);
      assertThat(get(base + "/count", "X-Session-ID", "alice").statusCode()).isEqualTo(200);
      assertThat(get(base + "/cwd", "X-Session-ID", "bob").statusCode()).isEqualTo(200);

      // The worker prints each request on stdout as it handles it, before it answers; its pump
      // may pass the line on a moment after the answer arrived.
      Run alice = await().atMost(START).until(() -> herd("logs", "--session", "alice",
          "--admin", admin), r -> r.exit() == 0 && r.out().contains("stdout GET /count"));
      assertThat(alice.out()).contains("stdout listening on ", "stdout GET /pid",
          "stdout GET /count").doesNotContain("GET /cwd");
      List<String> lines = alice.out().lines().toList();
      assertThat(lines).as("each line: <time> <stream> <text>")
          .allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT[^ ]+Z (stdout|stderr) .*"));
      assertThat(lines.indexOf(lines.stream().filter(l -> l.endsWith("GET /pid")).findFirst()
          .orElseThrow())).as("arrival order").isLessThan(lines.indexOf(lines.stream()
          .filter(l -> l.endsWith("GET /count")).findFirst().orElseThrow()));

      Run tail = herd("logs", "--session", "alice", "--tail", "1", "--admin", admin);
      assertThat(tail.exit()).isZero();
      assertThat(tail.out().lines()).hasSize(1);

      Run nobody = herd("logs", "--session", "nobody", "--admin", admin);
      assertThat(nobody.exit()).isEqualTo(ExitCodes.FAILURE);
      assertThat(nobody.err()).contains("herd logs: no such session: nobody");

      HttpResponse<String> raw = get(admin + "/sessions/alice/logs?tail=x");
      assertThat(raw.statusCode()).isEqualTo(400);
      assertThat(raw.body()).contains("tail is not a positive number: x");
      HttpResponse<String> plain = get(admin + "/sessions/bob/logs");
      assertThat(plain.statusCode()).isEqualTo(200);
      assertThat(plain.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
      assertThat(plain.body()).contains("stdout GET /cwd");

      // --follow: the last line, then what the worker prints next, until the session ends.
      StringWriter followed = new StringWriter();
      StringWriter followErr = new StringWriter();
      java.util.concurrent.CompletableFuture<Integer> follow =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            CommandLine cli = HerdCommand.commandLine();
            cli.setOut(new PrintWriter(followed));
            cli.setErr(new PrintWriter(followErr));
            return cli.execute("logs", "--session", "alice", "--follow", "--tail", "1",
                "--admin", admin);
          });
      // (The worker also prints each health check it answers: the last line is one of those
      // or GET /count.)
      await().atMost(START).until(() -> !followed.toString().isEmpty());
      assertThat(get(base + "/env?name=HERD_FOLLOW", "X-Session-ID", "alice").statusCode())
          .isEqualTo(404);
      await().atMost(START).until(() -> followed.toString().contains("GET /env?name=HERD_FOLLOW"));
      List<String> seen = followed.toString().lines().toList();
      assertThat(seen).as("no line twice").doesNotHaveDuplicates();
      assertThat(seen).as("nothing from before the last line").noneMatch(l -> l.endsWith("GET /pid"));
      assertThat(send("DELETE", admin + "/sessions/alice", null).statusCode()).isEqualTo(200);
      assertThat(follow.get(60, java.util.concurrent.TimeUnit.SECONDS))
          .as("--follow ends with the session: %s", followErr).isZero();
      assertThat(followErr.toString()).contains("herd logs: session alice ended");

      String access = herd.awaitLine("\"GET /pid HTTP/1\\.1\" 200 .* session=alice .*", START);
      assertThat(herd.stdout()).as("the access log is on stdout").contains(access);
      assertThat(herd.terminate(START)).isZero();
    }
  }

  @Test
  void saysSoWhenNoGatewayIsRunning() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Run run = herd("logs", "--session", "alice", "--admin", "http://127.0.0.1:" + port);
    assertThat(run.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(run.err().trim()).isEqualTo("herd logs: no gateway running at http://127.0.0.1:"
        + port + " (from --admin)");
  }

  @Test
  void aSessionIsRequired() {
    Run run = herd("logs");
    assertThat(run.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err()).contains("--session");
  }

  @Test
  void keysArePercentEncodedAsOnePathSegment() {
    assertThat(LogsCommand.encode("a/b c")).isEqualTo("a%2Fb%20c");
    assertThat(LogsCommand.encode("alice-1.x_~")).isEqualTo("alice-1.x_~");
  }
}
