package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * Hands out UIDs (used as GIDs too) from a range, one per worker, so that no two live workers
 * share one: a worker may signal, ptrace or read the files of processes with its own UID only.
 * A UID is released when its worker is gone, all its processes included.
 *
 * <p>One instance per JVM ({@link #shared()}), since two pools of the same gateway may use the
 * same range. A UID that some process on the host runs under (another gateway sharing the range,
 * a worker of a crashed gateway) is skipped. No {@code /etc/passwd} entries are needed.
 *
 * <p>Thread-safe: the leased set is guarded by {@code this}; leases are rare (one per spawn).
 */
final class UidLeases {

  private static final UidLeases SHARED = new UidLeases(UidLeases::usedByAProcess);

  /** Guarded by {@code this}. */
  private final Set<Integer> leased = new HashSet<>();
  private final IntPredicate inUseElsewhere;
  /** Where the next search starts, so that a just-released UID is not reused at once. */
  private int cursor;

  UidLeases(IntPredicate inUseElsewhere) {
    this.inUseElsewhere = inUseElsewhere;
  }

  static UidLeases shared() {
    return SHARED;
  }

  /**
   * A UID in {@code [first, last]} that is neither leased nor in use.
   *
   * @throws IOException when every UID of the range is taken
   */
  synchronized int lease(int first, int last) throws IOException {
    long size = (long) last - first + 1;
    for (long i = 0; i < size; i++) {
      int uid = (int) (first + Math.floorMod(cursor + i, size));
      if (!leased.contains(uid) && !inUseElsewhere.test(uid)) {
        leased.add(uid);
        cursor = (int) Math.floorMod(uid - first + 1L, size);
        return uid;
      }
    }
    throw new IOException("sandbox.uidRange is exhausted: " + first + "-" + last
        + " (expected: more UIDs than live workers; widen the range)");
  }

  synchronized void release(int uid) {
    leased.remove(uid);
  }

  /** Leased right now, for tests and for the "nothing left behind" check. */
  synchronized Set<Integer> leased() {
    return Set.copyOf(leased);
  }

  /** Whether a process runs under {@code uid}: the owner of {@code /proc/<pid>} is its UID. */
  private static boolean usedByAProcess(int uid) {
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try {
          if (((Integer) Files.getAttribute(proc, "unix:uid")) == uid) {
            return true;
          }
        } catch (IOException | UnsupportedOperationException e) {
          // exited meanwhile, or not Linux
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }
}
