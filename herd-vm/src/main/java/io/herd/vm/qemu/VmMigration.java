package io.herd.vm.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The QMP dances that save a running VM's state to a file and load it into a fresh QEMU: QEMU's
 * migration, to and from {@code exec:cat}. Saving stops the guest first, so the stream is one
 * consistent image and nothing is sent twice; loading needs a QEMU started with {@code -incoming
 * defer} and the same devices.
 *
 * <p>{@code x-ignore-shared}: on, RAM blocks mapped shared (a template's RAM file) are left out of
 * the stream, which then holds only device state (tens of KiB) and the RAM stays in the file;
 * off, all RAM is saved (what a suspended clone needs: its private pages are its session).
 * The capability lives in the QEMU process, so each dance sets it explicitly.
 *
 * <p>The {@code cat} that QEMU runs has QEMU's UID, so the files it reads and writes must be
 * reachable by that UID: callers keep them in the worker's scratch directory, or in a directory
 * workers may read. Stateless; blocking; call off event loops.
 */
final class VmMigration {

  /** How long one QMP answer may take. */
  static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
  private static final long POLL_MILLIS = 2;
  /** QEMU's default migration bandwidth (128 MiB/s) would throttle a local file: lift it. */
  private static final long MAX_BANDWIDTH = 64L * 1024 * 1024 * 1024;

  private VmMigration() {}

  /** Connects to the QMP socket of the QEMU whose scratch directory is {@code scratch}. */
  static Qmp connect(Path scratch) throws IOException {
    return Qmp.connect(scratch.resolve(QemuCommand.QMP_SOCKET), QMP_TIMEOUT);
  }

  /**
   * Stops the guest and writes its state to {@code out}; the guest stays stopped.
   *
   * @param ignoreShared leave shared RAM out (a template), or save all RAM (a suspend)
   * @param deadline how long the whole save may take
   */
  static void save(Qmp qmp, Path out, boolean ignoreShared, Duration deadline)
      throws IOException {
    setIgnoreShared(qmp, ignoreShared);
    qmp.execute("migrate-set-parameters", Map.of("max-bandwidth", MAX_BANDWIDTH));
    qmp.execute("stop");
    qmp.execute("migrate", Map.of("uri", "exec:cat > " + shellQuote(out)));
    awaitMigration(qmp, deadline, "saving the VM state to " + out);
  }

  /**
   * Loads the state in {@code in} into a QEMU started with {@code -incoming defer} and lets the
   * guest run.
   */
  static void restore(Qmp qmp, Path in, boolean ignoreShared, Duration deadline)
      throws IOException {
    setIgnoreShared(qmp, ignoreShared);
    qmp.execute("migrate-incoming", Map.of("uri", "exec:cat " + shellQuote(in)));
    awaitMigration(qmp, deadline, "loading the VM state from " + in);
    qmp.execute("cont");
  }

  private static void setIgnoreShared(Qmp qmp, boolean on) throws IOException {
    qmp.execute("migrate-set-capabilities", Map.of("capabilities",
        List.of(Map.of("capability", "x-ignore-shared", "state", on))));
  }

  private static void awaitMigration(Qmp qmp, Duration deadline, String what)
      throws IOException {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      JsonNode status = qmp.execute("query-migrate");
      String state = status.path("status").asText("none");
      switch (state) {
        case "completed":
          return;
        case "failed":
        case "cancelled":
          throw new IOException(what + " " + state + ": "
              + status.path("error-desc").asText("QEMU gave no reason"));
        default:
          break;
      }
      if (System.nanoTime() > end) {
        throw new IOException(what + " did not complete within " + deadline.toMillis()
            + " ms (migration status " + state + ")");
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while " + what, e);
      }
    }
  }

  /** {@code path} in single quotes for QEMU's {@code exec:} (run by {@code /bin/sh -c}). */
  static String shellQuote(Path path) {
    return "'" + path.toString().replace("'", "'\\''") + "'";
  }
}
