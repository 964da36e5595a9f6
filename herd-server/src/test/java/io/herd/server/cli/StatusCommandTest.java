package io.herd.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code herd status} finds the admin API from {@code --admin} or {@code --config} (address and
 * token, the token through an environment reference), and says plainly when nothing listens
 * there, or when the file cannot tell: never {@code null}, never a stack trace.
 */
class StatusCommandTest {

  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  /** A loopback port that nothing listens on (just released by the kernel). */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private record Run(int exit, String out, String err) {}

  private static Run status(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = HerdCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    String[] argv = new String[args.length + 1];
    argv[0] = "status";
    System.arraycopy(args, 0, argv, 1, args.length);
    int exit = cli.execute(argv);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void nothingListeningNamesTheAddressAndWhereItCameFrom() throws Exception {
    int port = freePort();
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "admin:\n  listen: 127.0.0.1:" + port + "\n  token: ${UNSET_IN_TEST:-}\n"
        + "worker: { command: [\"${NOT_SET_ON_THIS_SHELL}\"] }\n");

    Run fromFile = status("--config", file.toString());
    assertThat(fromFile.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(fromFile.err()).isEqualTo("herd status: no gateway running at http://127.0.0.1:"
        + port + " (from " + file + ")" + System.lineSeparator());
    assertThat(fromFile.out()).isEmpty();

    Run fromFlag = status("--admin", "http://127.0.0.1:" + port + "/", "--config", file.toString());
    assertThat(fromFlag.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(fromFlag.err()).isEqualTo("herd status: no gateway running at http://127.0.0.1:"
        + port + " (from --admin)" + System.lineSeparator());

    Files.writeString(file, "admin: { listen: \":" + port + "\" }\n");
    assertThat(status("--config", file.toString()).err())
        .as("a wildcard listen address is reached through loopback")
        .contains("no gateway running at http://127.0.0.1:" + port + " (from ");
  }

  @Test
  void aFileThatCannotTellIsAConfigurationError() throws Exception {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "# admin API\nadmin:\n  listen: nowhere\n");
    Run bad = status("--config", file.toString());
    assertThat(bad.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.err()).startsWith(file + ":3: admin.listen is not an address: nowhere")
        .doesNotContain("Exception");

    Run missing = status("--config", dir.resolve("nope.yaml").toString());
    assertThat(missing.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err()).contains("nope.yaml: the file does not exist")
        .doesNotContain("Exception");

    Run notHttp = status("--admin", "ftp://127.0.0.1:1");
    assertThat(notHttp.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(notHttp.err()).contains("not an HTTP URL").doesNotContain("null");
  }

  @Test
  void readsAddressAndTokenOfARunningGatewayFromItsFile() throws Exception {
    int port = freePort();
    String token = "status-reads-this-from-the-env";
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    Files.writeString(config, Files.readString(config).replace("admin: { listen: 127.0.0.1:0 }",
        "admin: { listen: 127.0.0.1:" + port + ", token: \"${HERD_TEST_STATUS_TOKEN}\" }"));
    Map<String, String> env = Map.of("HERD_TEST_STATUS_TOKEN", token);
    try (HerdProcess herd = HerdProcess.start(env, "serve", "--config", config.toString())) {
      herd.awaitServing(START);
      herd.adminUri(START);

      try (HerdProcess status = HerdProcess.start(env, "status", "--config", config.toString())) {
        assertThat(status.awaitExit(START)).as(status.transcript()).isZero();
        assertThat(String.join("\n", status.stdout())).contains("pool default", "no sessions");
      }
      try (HerdProcess denied = HerdProcess.start(Map.of("HERD_TEST_STATUS_TOKEN",
          "a-wrong-token-of-enough-length"), "status", "--config", config.toString())) {
        assertThat(denied.awaitExit(START)).isEqualTo(ExitCodes.FAILURE);
        assertThat(String.join("\n", denied.stderr())).contains("401 unauthorized");
      }
      herd.terminate(START);
    }
  }
}
