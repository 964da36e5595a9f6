package io.herd.benchmarks.goals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Counts live processes by command name (the {@code comm} of {@code /proc/PID/comm}, at most 15
 * characters), as {@code pgrep -cx NAME} would, without forking a process per sample. Zombies
 * count as gone. Stateless and thread-safe.
 */
final class ProcessCounter {

  private final String comm;

  ProcessCounter(String comm) {
    this.comm = comm.length() > 15 ? comm.substring(0, 15) : comm;
  }

  int count() {
    int n = 0;
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try {
          String stat = Files.readString(proc.resolve("stat"), StandardCharsets.US_ASCII);
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          if (open < 0 || close < open || close + 2 >= stat.length()) {
            continue;
          }
          char state = stat.charAt(close + 2);
          if (state != 'Z' && state != 'X' && stat.substring(open + 1, close).equals(comm)) {
            n++;
          }
        } catch (IOException e) {
          // the process exited between the listing and the read: not live
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return n;
  }
}
