package io.herd.server.cli;

import static io.herd.server.cli.ReplSessions.exec;
import static io.herd.server.cli.ReplSessions.python3Works;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.herd.server.HerdProcess;
import io.herd.testkit.ReadableCopy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * examples/python-repl runs as documented (skipped without python3): a session's variables
 * persist between requests and are invisible to other sessions.
 */
class PythonReplExampleTest {

  @Test
  void replSessionsKeepTheirOwnVariables() throws Exception {
    assumeThat(python3Works()).as("python3 on the PATH").isTrue();
    assumeThat(Path.of("/usr/bin/python3")).as("the system's python3").isExecutable();
    // Workers under leased UIDs must be able to enter the example's directory (their working
    // directory): the checkout may sit inside a directory only root may enter (mktemp -d).
    Path config = ReadableCopy.of(Path.of("..", "examples", "python-repl")).resolve("herd.yaml");
    // Under root the workers run as leased UIDs (sandbox.uid: auto), which cannot run a python3
    // installed under /root (pyenv, first on this machine's PATH): the gateway's PATH is left as
    // it is, and the lookup must pick the system's python3, as the worker's own execvp would.
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString(),
        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")) {
      String base = herd.awaitServing(Duration.ofSeconds(60));

      assertThat(exec(base, "alice", "x = 40").statusCode()).as(herd.transcript()).isEqualTo(200);
      assertThat(exec(base, "alice", "print(x + 2)").body()).isEqualTo("42\n");
      HttpResponse<String> bob = exec(base, "bob", "print(x)");
      assertThat(bob.statusCode()).isEqualTo(400);
      assertThat(bob.body()).contains("NameError");

      assertThat(herd.terminate(Duration.ofSeconds(20))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).isEmpty();
    }
  }
}
