package io.herd.proxy;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The process's file descriptors: how many are open and how many it may open. A gateway needs
 * one per client connection and one per worker connection, so a WebSocket tunnel takes two; the
 * soft limit is what a gateway reaches first. The JVM raises the soft limit to the hard one at
 * start on Linux (unless run with {@code -XX:-MaxFDLimit}); the {@code herd} launcher does the
 * same before it starts the JVM. Immutable; a snapshot taken by {@link #now()}.
 *
 * @param open descriptors open now, -1 when unknown (not a Unix JVM)
 * @param limit the soft limit in force ({@code ulimit -n}), -1 when unknown
 * @param hardLimit the hard limit the soft one may be raised to ({@code ulimit -Hn}), -1 when
 *     unknown or unlimited
 */
public record FileDescriptors(long open, long limit, long hardLimit) {

  private static final Path LIMITS = Path.of("/proc/self/limits");

  /** The descriptors of this process now. */
  public static FileDescriptors now() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return new FileDescriptors(openCount(unix), unix.getMaxFileDescriptorCount(),
          readHardLimit());
    }
    return new FileDescriptors(-1, -1, -1);
  }

  /**
   * The JDK counts the entries of {@code /proc/self/fd}, which takes a descriptor itself: at the
   * limit it throws an {@link InternalError} ("Unable to open directory"), which is just what
   * callers asking at the limit must not get.
   */
  private static long openCount(com.sun.management.UnixOperatingSystemMXBean unix) {
    try {
      return unix.getOpenFileDescriptorCount();
    } catch (InternalError atTheLimit) {
      return -1;
    }
  }

  /** About how many idle tunnels fit in the limit: two descriptors each, beyond those open now. */
  public long tunnelsThatFit() {
    return limit < 0 || open < 0 ? -1 : Math.max(0, (limit - open) / 2);
  }

  /** {@code 4096 (hard limit 20000), 41 open}, or {@code unknown}. */
  public String describe() {
    if (limit < 0) {
      return "unknown";
    }
    return limit + (hardLimit >= 0 && hardLimit != limit ? " (hard limit " + hardLimit + ")" : "")
        + (open >= 0 ? ", " + open + " open" : "");
  }

  /**
   * The hard limit from {@code /proc/self/limits} (Linux), whose line reads {@code Max open files
   * <soft> <hard> files}; -1 elsewhere, or when unlimited.
   */
  private static long readHardLimit() {
    try {
      List<String> lines = Files.readAllLines(LIMITS);
      for (String line : lines) {
        if (line.startsWith("Max open files")) {
          String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
          return fields.length >= 2 && fields[1].chars().allMatch(Character::isDigit)
              ? Long.parseLong(fields[1]) : -1;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc not mounted: unknown
    }
    return -1;
  }
}
