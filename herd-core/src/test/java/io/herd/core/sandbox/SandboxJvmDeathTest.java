package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.testkit.Processes;
import io.herd.testkit.ReadableCopy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sandboxed worker still dies with its gateway when the gateway is SIGKILLed (the parent-death
 * signal of herd-launch and of its init), and the next gateway removes the cgroups, namespace and
 * scratch directory the dead one left.
 */
class SandboxJvmDeathTest {

  @Test
  void sandboxedWorkerDiesWithItsJvmAndTheNextSandboxSweepsWhatWasLeft(@TempDir Path dir)
      throws Exception {
    SandboxFixture.assumeNetworkHost();
    Process host = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        SandboxHostMain.class.getName())
        .redirectError(dir.resolve("host-stderr.log").toFile())
        .start();
    List<Long> pids = new ArrayList<>();
    List<Path> paths = new ArrayList<>();
    List<String> namespaces = new ArrayList<>();
    try {
      BufferedReader out = new BufferedReader(
          new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
        String value = line.substring(line.indexOf(' ') + 1);
        if (line.startsWith("worker-pid ") || line.startsWith("init-pid ")) {
          pids.add(Long.parseLong(value));
        } else if (line.startsWith("path ")) {
          paths.add(Path.of(value));
        } else if (line.startsWith("netns ")) {
          namespaces.add(value);
        }
      }
      assertThat(pids).as("see %s", dir.resolve("host-stderr.log")).hasSize(2);
      assertThat(paths).allMatch(Files::isDirectory);

      host.destroyForcibly();
      assertThat(host.waitFor(10, TimeUnit.SECONDS)).isTrue();

      for (long pid : pids) {
        assertThat(Processes.awaitGone(pid, Duration.ofSeconds(2)))
            .as("process %d is gone within 2 s of its JVM's death", pid).isTrue();
      }
      assertThat(paths).as("nobody removed them yet").allMatch(Files::exists);

      // The next gateway sweeps at start-up. Here it starts at once, while the kernel may still
      // be tearing the dead worker down, so a busy cgroup gets a few more sweeps.
      SandboxConfig next = SandboxConfig.builder().uid(UidMode.ISOLATED)
          .network(NetworkMode.ISOLATED).build();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      do {
        Sandbox.create(next).sweepStale();
      } while (paths.stream().anyMatch(Files::exists) && System.nanoTime() < deadline
          && sleep(100));

      assertThat(paths).as("swept by the next sandbox").noneMatch(Files::exists);
      assertThat(namespaces).noneMatch(n -> Files.exists(Path.of("/run/netns", n)));
      assertThat(networkLeftoversOf(host.pid()))
          .as("namespaces (spares too), links and host nft tables of the dead gateway").isEmpty();
    } finally {
      host.destroyForcibly();
      pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      host.waitFor(10, TimeUnit.SECONDS);
      ReadableCopy.deleteCopiesOf(host.pid()); // its shutdown hook never ran
      SandboxFixture.removeWorkdirRootIfEmpty();
    }
  }

  /** What the sandboxes of gateway {@code pid} have on the network side of this host now. */
  private static List<String> networkLeftoversOf(long pid) throws Exception {
    List<String> left = new ArrayList<>();
    try (var names = Files.list(Path.of("/run/netns"))) {
      names.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("herd-" + pid + "-"))
          .forEach(left::add);
    }
    try (var links = Files.list(Path.of("/sys/class/net"))) {
      links.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("hv" + Long.toString(pid, 36) + "-")).forEach(left::add);
    }
    for (String line : HostCommand.run(List.of(HostSupport.detect().nft().orElseThrow()
        .toString(), "list tables")).split("\n")) {
      if (line.startsWith("table inet herd-" + pid + "-")) {
        left.add(line);
      }
    }
    return left;
  }

  private static boolean sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
    return true;
  }
}
