package io.herd.vm.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.Processes;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * No QEMU outlives its gateway, even one killed with SIGKILL (no shutdown hook runs then): QEMU
 * is started by herd-launch like any worker, under the kernel's parent-death signal.
 */
class VmJvmDeathTest {

  @Test
  void qemuDiesWhenItsGatewayJvmIsSigkilled() throws Exception {
    try (VmTestSupport vms = new VmTestSupport()) {
      List<String> command = List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"),
          "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
          VmHostMain.class.getName(), vms.cacheDir().toString());
      Process host = new ProcessBuilder(command)
          .redirectError(vms.cacheDir().resolve("host-stderr.log").toFile())
          .start();
      long qemuPid = -1;
      try {
        qemuPid = readQemuPid(host);
        assertThat(Processes.isAlive(qemuPid)).as("QEMU runs").isTrue();

        host.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs in the host
        assertThat(host.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(Processes.awaitGone(qemuPid, Duration.ofSeconds(5)))
            .as("QEMU %d is gone soon after its gateway's death", qemuPid)
            .isTrue();
      } finally {
        host.destroyForcibly();
        if (qemuPid > 0) {
          ProcessHandle.of(qemuPid).ifPresent(ProcessHandle::destroyForcibly);
        }
        host.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static long readQemuPid(Process host) throws Exception {
    CompletableFuture<Long> pid = CompletableFuture.supplyAsync(() -> {
      long found = -1;
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(host.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = out.readLine()) != null && !line.equals("ready")) {
          if (line.startsWith("qemu-pid ")) {
            found = Long.parseLong(line.substring("qemu-pid ".length()).trim());
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return found;
    });
    return pid.get(180, TimeUnit.SECONDS);
  }
}
