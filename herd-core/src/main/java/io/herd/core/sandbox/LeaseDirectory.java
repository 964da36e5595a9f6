package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Leases that hold across every process on this host, not just this JVM: one lock file per
 * leasable thing (a UID, an address block) in one directory, by default under {@code
 * /run/herd/leases}. Two gateways on one host lease from the same directories, so they never hand
 * out the same UID or subnet.
 *
 * <p><b>Protocol.</b> A lease is an exclusive POSIX record lock ({@code fcntl}) on the thing's
 * file, which the kernel drops when the holder dies: a gateway killed by SIGKILL never keeps a
 * lease. The file holds the holder's <em>record</em> (what it is about to create under the
 * lease: its pid, a namespace name, a link name, a directory), written before anything is
 * created. Releasing empties the file, then unlocks it; files are never deleted, which keeps the
 * protocol free of the unlink-while-locked race (a few bytes of tmpfs per thing ever leased).
 * So, for a file one can lock:
 *
 * <ul>
 *   <li>empty: released cleanly (or never used): free;
 *   <li>not empty: the holder died without releasing. What its record names may still exist (a
 *       worker's link, its scratch directory): the caller's {@code leftoversRemain} decides from
 *       the record, and the thing stays unleased until they are gone (the stale sweep of the next
 *       gateway removes them).
 * </ul>
 *
 * <p><b>One channel per file per JVM.</b> Closing any descriptor of a file drops every POSIX lock
 * the process holds on it, so this JVM must never open a file it already holds: hence one
 * instance per directory ({@link #at}), which keeps the held files' channels and is the only code
 * that opens them. Thread-safe: every method is {@code synchronized}; leases are rare (one per
 * worker start) and each takes a few system calls.
 *
 * <p>Lifetime: instances live as long as the JVM; leases from {@link #tryLease} to {@link
 * #release} (or to the JVM's death).
 */
final class LeaseDirectory {

  /** The root of the host-wide lease directories. */
  static final Path HOST_ROOT = Path.of("/run/herd/leases");

  private static final Map<Path, LeaseDirectory> INSTANCES = new ConcurrentHashMap<>();

  private final Path dir;
  /** Guarded by {@code this}: the files this JVM holds, by name, with their locked channel. */
  private final Map<String, FileChannel> held = new TreeMap<>();

  private LeaseDirectory(Path dir) {
    this.dir = dir;
  }

  /** The one instance for {@code dir} in this JVM; the directory is created on first lease. */
  static LeaseDirectory at(Path dir) {
    return INSTANCES.computeIfAbsent(dir.toAbsolutePath().normalize(), LeaseDirectory::new);
  }

  /** The directory. */
  Path dir() {
    return dir;
  }

  /**
   * Leases {@code name} unless another process holds it, this JVM holds it, or its previous
   * holder died and {@code leftoversRemain} says that what it recorded still exists.
   *
   * @param record what the caller will create under the lease, for the next holder to check if
   *     this JVM dies; non-empty
   * @param leftoversRemain given the record of a holder that died, whether what it names still
   *     exists
   * @return whether {@code name} is now leased by this JVM
   * @throws IOException when the directory or file cannot be created or written
   */
  synchronized boolean tryLease(String name, String record, Predicate<String> leftoversRemain)
      throws IOException {
    if (held.containsKey(name)) {
      return false;
    }
    if (record.isEmpty()) {
      throw new IllegalArgumentException("a lease record must not be empty: " + name);
    }
    createDirectory();
    FileChannel channel = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    boolean leased = false;
    try {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // cannot happen while held is right; treat as taken
      }
      if (lock == null) {
        return false;
      }
      String previous = read(channel);
      if (!previous.isEmpty() && leftoversRemain.test(previous)) {
        return false;
      }
      write(channel, record);
      held.put(name, channel);
      leased = true;
      return true;
    } finally {
      if (!leased) {
        channel.close(); // also unlocks
      }
    }
  }

  /**
   * Releases {@code name}: empties its record, then unlocks. A no-op when this JVM does not hold
   * it.
   */
  synchronized void release(String name) {
    FileChannel channel = held.remove(name);
    if (channel == null) {
      return;
    }
    try (channel) {
      channel.truncate(0);
    } catch (IOException e) {
      // The record stays: the next holder checks its leftovers, which are gone. Harmless.
    }
  }

  /** Whether this JVM holds {@code name}. */
  synchronized boolean holds(String name) {
    return held.containsKey(name);
  }

  /** The names this JVM holds. */
  synchronized Set<String> held() {
    return Set.copyOf(held.keySet());
  }

  /**
   * The values of {@code key} in a record made of {@code key value} lines, as the lease classes
   * write them: {@code values("pid 12\nlink hv1-2\n", "link")} is {@code [hv1-2]}.
   */
  static List<String> values(String record, String key) {
    List<String> out = new ArrayList<>();
    for (String line : record.split("\n")) {
      if (line.startsWith(key + " ")) {
        out.add(line.substring(key.length() + 1));
      }
    }
    return out;
  }

  private void createDirectory() throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Files.createDirectories(dir);
    // Only the gateway's user may create or lock leases.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }

  private static String read(FileChannel channel) throws IOException {
    long size = channel.size();
    if (size == 0) {
      return "";
    }
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(size, 64 * 1024));
    while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) > 0) {
      // read until full or end of file
    }
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
  }

  private static void write(FileChannel channel, String record) throws IOException {
    channel.truncate(0);
    ByteBuffer bytes = ByteBuffer.wrap(record.getBytes(StandardCharsets.UTF_8));
    long position = 0;
    while (bytes.hasRemaining()) {
      position += channel.write(bytes, position);
    }
  }

  @Override
  public String toString() {
    return "LeaseDirectory{" + dir + "}";
  }
}
