package io.herd.core.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short administrative command ({@code ip ...}, a tool's {@code --help}) and waits for it,
 * failing with its output when it fails. Not for workers: these processes end within seconds, so
 * they may be forked from any thread. Stateless and thread-safe.
 */
final class HostCommand {

  private static final long TIMEOUT_SECONDS = 10;

  private HostCommand() {}

  /**
   * Runs {@code argv}; returns its combined output.
   *
   * @throws IOException if it cannot start, times out or exits non-zero, with its output
   */
  static String run(List<String> argv) throws IOException {
    return run(argv, "");
  }

  /**
   * Runs {@code argv} with {@code input} as its standard input (e.g. the commands of {@code ip
   * -batch -}); returns its combined output.
   *
   * @throws IOException if it cannot start, times out or exits non-zero, with its output
   */
  static String run(List<String> argv, String input) throws IOException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try (java.io.OutputStream in = process.getOutputStream()) {
      in.write(input.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // exited before reading its input: its exit code and output say why
    }
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8).trim();
    }
    try {
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", argv) + " did not finish within "
            + TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", argv), e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(String.join(" ", argv) + " failed with exit code "
          + process.exitValue() + (output.isEmpty() ? "" : ": " + output));
    }
    return output;
  }

  /** Whether {@code argv} runs and exits with 0. */
  static boolean succeeds(List<String> argv) {
    try {
      run(argv);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
