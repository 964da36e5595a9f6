package io.herd.vm.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The QMP client against a real QEMU with no machine (nothing boots: cheap). */
class QmpTest {

  @TempDir Path dir;
  private Process qemu;

  @AfterEach
  void killQemu() throws Exception {
    if (qemu != null) {
      qemu.destroyForcibly();
      qemu.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private Path startQemu() throws IOException {
    Path socket = dir.resolve("qmp.sock");
    qemu = new ProcessBuilder("qemu-system-x86_64", "-M", "none", "-nodefaults",
        "-display", "none", "-qmp", "unix:" + socket + ",server=on,wait=off")
        .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
    return socket;
  }

  @Test
  void executesCommandsAndReturnsTheirReturnValue() throws Exception {
    Path socket = startQemu();

    try (Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(10))) {
      assertThat(qmp.execute("query-status").path("status").asText()).isEqualTo("running");
      assertThat(qmp.execute("query-version").path("qemu").path("major").asInt())
          .isGreaterThanOrEqualTo(7);
    }
  }

  @Test
  void errorAnswerThrowsWithQemusDescription() throws Exception {
    Path socket = startQemu();

    try (Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(10))) {
      assertThatThrownBy(() -> qmp.execute("migrate-set-capabilities", Map.of("capabilities",
          java.util.List.of(Map.of("capability", "no-such-capability", "state", true)))))
          .isInstanceOf(QmpException.class)
          .hasMessageContaining("QMP migrate-set-capabilities failed")
          .hasMessageContaining("no-such-capability");
      assertThat(qmp.execute("query-status").path("status").asText())
          .as("the connection stays usable after an error").isEqualTo("running");
    }
  }

  @Test
  void qemuExitingFailsTheNextCommandClearly() throws Exception {
    Path socket = startQemu();

    try (Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(10))) {
      qmp.execute("quit");
      qemu.waitFor(10, TimeUnit.SECONDS);
      assertThatThrownBy(() -> qmp.execute("query-status"))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("QMP socket");
    }
  }

  @Test
  void missingSocketFailsAfterTheTimeoutNamingIt() {
    Path socket = dir.resolve("absent.sock");

    assertThatThrownBy(() -> Qmp.connect(socket, Duration.ofMillis(100)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(socket.toString())
        .hasMessageContaining("does not exist");
  }
}
