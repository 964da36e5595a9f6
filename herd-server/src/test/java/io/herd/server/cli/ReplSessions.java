package io.herd.server.cli;

import static io.herd.server.HttpClients.send;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

/** Talking to the Python REPL example (examples/python-repl) through a gateway, in tests. */
final class ReplSessions {

  private ReplSessions() {}

  /** Runs {@code code} in session {@code session}'s interpreter; the answer is its output. */
  static HttpResponse<String> exec(String base, String session, String code) throws Exception {
    return send("POST", base + "/exec", code, "X-Session-ID", session);
  }

  /** Whether {@code python3} runs here: the REPL tests are skipped without it. */
  static boolean python3Works() {
    try {
      Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
