package io.herd.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Test-side view of operating-system processes: is a pid still running, wait until it is gone,
 * which processes descend from another. Stateless and thread-safe.
 *
 * <p>A zombie counts as gone. This matters in containers whose init process does not reap
 * orphans: a killed grandchild stays a zombie there forever, and {@link ProcessHandle#isAlive()}
 * keeps reporting it alive although it can no longer run or hold a port.
 */
public final class Processes {

  private Processes() {}

  /** Whether {@code pid} is a running (not zombie) process. */
  public static boolean isAlive(long pid) {
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    return handle.isPresent() && handle.get().isAlive() && !isZombie(pid);
  }

  /** Whether {@code handle} is a running (not zombie) process. */
  public static boolean isAlive(ProcessHandle handle) {
    return handle.isAlive() && !isZombie(handle.pid());
  }

  /**
   * Waits up to {@code timeout} for {@code pid} to be gone, polling every 10 ms.
   *
   * @return whether it is gone
   */
  public static boolean awaitGone(long pid, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (isAlive(pid)) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !isAlive(pid);
      }
    }
    return true;
  }

  /** The running (not zombie) descendants of {@code parent}: children, grandchildren, .... */
  public static List<ProcessHandle> descendantsOf(ProcessHandle parent) {
    return parent.descendants().filter(Processes::isAlive).collect(Collectors.toList());
  }

  /** The pids of the running descendants of {@code parent}. */
  public static List<Long> descendantPidsOf(ProcessHandle parent) {
    return descendantsOf(parent).stream().map(ProcessHandle::pid).collect(Collectors.toList());
  }

  /** Reads the state letter of {@code /proc/<pid>/stat} (Linux); other systems have no zombies. */
  private static boolean isZombie(long pid) {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    try {
      String text = Files.readString(stat, StandardCharsets.UTF_8);
      // "pid (comm) S ...": comm may contain spaces and parentheses, so look after the last ')'.
      int close = text.lastIndexOf(')');
      char state = close >= 0 && close + 2 < text.length() ? text.charAt(close + 2) : '?';
      return state == 'Z' || state == 'X';
    } catch (IOException e) {
      return false; // gone, or no /proc: either way not a zombie we can see
    }
  }
}
