package io.herd.vm.qemu;

import io.herd.core.SuspendedWorker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A suspended VM: its full migration state (devices and all guest RAM it had written) in one
 * file, mode 0600, in the factory's private {@code suspended/} directory. Consumed once: by {@link
 * VmWorkerFactory#resume} (which moves the file into the new QEMU's scratch directory) or by
 * {@link #discard()}.
 *
 * <p>Thread-safe: {@code taken} flips once.
 */
final class SuspendedVm implements SuspendedWorker {

  private static final Logger log = LoggerFactory.getLogger(SuspendedVm.class);

  private final String workerId;
  private final Path file;
  private final long sizeBytes;
  private final AtomicBoolean taken = new AtomicBoolean();

  SuspendedVm(String workerId, Path file, long sizeBytes) {
    this.workerId = workerId;
    this.file = file;
    this.sizeBytes = sizeBytes;
  }

  @Override
  public String workerId() {
    return workerId;
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  /** The state file; present until taken or discarded. */
  Path file() {
    return file;
  }

  /** Claims the state for a resume: true once, false after a discard or another take. */
  boolean take() {
    return taken.compareAndSet(false, true);
  }

  @Override
  public void discard() {
    taken.set(true);
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("cannot delete the saved state of suspended VM {}: {}: {}", workerId, file,
          e.toString());
    }
  }

  @Override
  public String toString() {
    return "SuspendedVm{" + workerId + ", " + sizeBytes + " bytes, " + file + "}";
  }
}
