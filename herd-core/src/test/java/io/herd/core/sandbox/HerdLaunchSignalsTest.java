package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What signal state a worker starts with, whatever the gateway inherited: herd-launch gives the
 * worker default actions for every signal and an empty signal mask.
 */
class HerdLaunchSignalsTest {

  @Test
  void aWorkerDoesNotInheritSignalsTheGatewayIgnores() throws Exception {
    Path launcher = HostSupport.detect().launcher().orElse(null);
    assumeTrue(launcher != null, () -> "skipped: " + HostSupport.detect().launcherProblem());
    // A gateway started as a non-interactive shell's background job ignores SIGINT and SIGQUIT;
    // exec keeps ignored signals ignored, so the launcher itself starts with them ignored here.
    Process p = new ProcessBuilder("/bin/sh", "-c",
        "trap '' INT QUIT; exec \"$0\" -- /bin/sh -c 'grep -E \"^Sig(Ign|Blk):\" /proc/self/status'",
        launcher.toString())
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

    List<String> lines = out.lines().toList();
    assertThat(p.exitValue()).as(out).isZero();
    // SigIgn bits: SIGINT is bit 1 (0x2), SIGQUIT bit 2 (0x4). The shell itself ignores nothing.
    long ignored = Long.parseLong(value(lines, "SigIgn:"), 16);
    assertThat(ignored & 0x6).as("SIGINT and SIGQUIT ignored in: %s", out).isZero();
    assertThat(Long.parseLong(value(lines, "SigBlk:"), 16)).as("blocked: %s", out).isZero();
  }

  private static String value(List<String> lines, String prefix) {
    return lines.stream().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> l.substring(prefix.length()).trim()).orElseThrow();
  }
}
