package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Hands out UIDs (used as GIDs too) from a range, one per worker, so that no two live workers on
 * this host share one: a worker may signal, ptrace or read the files of processes with its own UID
 * only. No {@code /etc/passwd} entries are needed.
 *
 * <p>Host-wide: every gateway on the host leases through the lock files of {@code
 * /run/herd/leases/uid} ({@link LeaseDirectory}), so two gateways never hand out the same UID,
 * whatever their ranges. A UID is also skipped while anything of a previous user remains: a
 * process running under it (a worker of a gateway that died, anything else on the host), or an
 * entry it owns in a scratch-directory root ({@link #scratchRoot}; the roots a dead holder
 * recorded are checked too). So a UID is reused only once nothing of its previous worker is left.
 *
 * <p>One instance per JVM ({@link #shared()}); tests make their own on a temporary directory.
 * Thread-safe: the cursor and roots are guarded by {@code this}; leases are rare (one per spawn)
 * and each scans {@code /proc} once.
 */
final class UidLeases {

  private static final UidLeases SHARED =
      new UidLeases(LeaseDirectory.at(LeaseDirectory.HOST_ROOT.resolve("uid")));

  private final LeaseDirectory leases;
  private final Supplier<Set<Integer>> processUids;
  /** Guarded by {@code this}. */
  private final Set<Path> scratchRoots = new LinkedHashSet<>();
  /** Guarded by {@code this}: where the next search starts, so a released UID is not reused at once. */
  private int cursor;

  /**
   * @param leases where the lock files live
   * @param processUids the UIDs that processes on the host run under now
   */
  UidLeases(LeaseDirectory leases, Supplier<Set<Integer>> processUids) {
    this.leases = leases;
    this.processUids = processUids;
  }

  /** Leases in {@code leases}, checking this host's processes: how a second gateway leases. */
  UidLeases(LeaseDirectory leases) {
    this(leases, UidLeases::processUids);
  }

  static UidLeases shared() {
    return SHARED;
  }

  /**
   * Adds a directory holding per-worker scratch directories: a UID that owns an entry in it is
   * not leased. Recorded in every later lease, so the next holder checks it too if this JVM dies.
   */
  synchronized void scratchRoot(Path root) {
    scratchRoots.add(root.toAbsolutePath().normalize());
  }

  /**
   * A UID in {@code [first, last]} that no gateway on the host has leased and that nothing runs
   * under or owns a scratch directory.
   *
   * @throws IOException when every UID of the range is taken, or the lease directory cannot be
   *     written
   */
  synchronized int lease(int first, int last) throws IOException {
    long size = (long) last - first + 1;
    Set<Integer> busy = new HashSet<>(processUids.get());
    busy.addAll(owners(scratchRoots));
    String record = "pid " + ProcessHandle.current().pid() + "\n" + scratchRoots.stream()
        .map(r -> "root " + r + "\n").collect(Collectors.joining());
    for (long i = 0; i < size; i++) {
      int uid = (int) (first + Math.floorMod(cursor + i, size));
      if (!busy.contains(uid)
          && leases.tryLease(Integer.toString(uid), record, previous -> ownsEntryIn(uid,
              LeaseDirectory.values(previous, "root").stream().map(Path::of).toList()))) {
        cursor = (int) Math.floorMod(uid - first + 1L, size);
        return uid;
      }
    }
    throw new IOException("sandbox.uidRange is exhausted: " + first + "-" + last
        + " (expected: more UIDs than live workers of every gateway on this host, and none left"
        + " by dead ones; widen the range)");
  }

  /** Hands {@code uid} back; call once nothing of its worker runs or owns a file any more. */
  synchronized void release(int uid) {
    leases.release(Integer.toString(uid));
  }

  /** Leased by this JVM right now, for tests and for the "nothing left behind" check. */
  Set<Integer> leased() {
    return leases.held().stream().map(Integer::valueOf).collect(Collectors.toUnmodifiableSet());
  }

  /** Whether {@code uid} owns an entry directly under one of {@code roots}. */
  private static boolean ownsEntryIn(int uid, Collection<Path> roots) {
    return owners(roots).contains(uid);
  }

  /** The owners of the entries directly under {@code roots}. */
  private static Set<Integer> owners(Collection<Path> roots) {
    Set<Integer> owners = new HashSet<>();
    for (Path root : roots) {
      if (!Files.isDirectory(root)) {
        continue;
      }
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
        for (Path entry : entries) {
          try {
            owners.add((Integer) Files.getAttribute(entry, "unix:uid", LinkOption.NOFOLLOW_LINKS));
          } catch (IOException | UnsupportedOperationException e) {
            // removed meanwhile
          }
        }
      } catch (IOException e) {
        // unreadable root: nothing known about it
      }
    }
    return owners;
  }

  /**
   * The UIDs that processes on this host run under: the owner of {@code /proc/<pid>} is its
   * effective UID (root for a process made non-dumpable by a credential change it has not yet
   * followed by an {@code exec}: a window of microseconds in a worker's launch, never a
   * worker's steady state). One directory scan per lease, not one per candidate UID.
   */
  private static Set<Integer> processUids() {
    Set<Integer> uids = new HashSet<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try {
          uids.add((Integer) Files.getAttribute(proc, "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
          // exited meanwhile, or not Linux
        }
      }
    } catch (IOException e) {
      // no /proc: nothing known
    }
    return uids;
  }

  @Override
  public String toString() {
    return "UidLeases{" + leases.dir() + "}";
  }
}
