package io.herd.proxy.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One file descriptor held in reserve ({@code /dev/null}, opened for reading), so that a gateway
 * that ran out of descriptors can still accept a waiting client to tell it so: {@link #release()}
 * frees the slot for that one accept, {@link #restore()} takes it back once that client is gone.
 * Without it, a client in the listen backlog of a process at its limit waits unanswered until a
 * descriptor frees up, however long that takes.
 *
 * <p>Not thread-safe: used from the listening channel's event loop only. Lives until {@link
 * #close()}.
 */
final class SpareDescriptor implements AutoCloseable {

  private static final Path DEV_NULL = Path.of("/dev/null");

  private FileChannel held;
  private boolean closed;

  /** Takes the spare descriptor now; without {@code /dev/null} the reserve stays empty. */
  SpareDescriptor() {
    restore();
  }

  /** Whether the descriptor is held, ready to be released. */
  boolean held() {
    return held != null;
  }

  /** Frees the descriptor, for one accept. */
  void release() {
    if (held != null) {
      closeQuietly(held);
      held = null;
    }
  }

  /**
   * Takes the descriptor back; false when it cannot (still no descriptor free, or closed) and
   * the caller should try again later.
   */
  boolean restore() {
    if (closed) {
      return false;
    }
    if (held == null) {
      try {
        held = FileChannel.open(DEV_NULL, StandardOpenOption.READ);
      } catch (IOException | UnsupportedOperationException e) {
        return false;
      }
    }
    return true;
  }

  /** Frees the descriptor for good. */
  @Override
  public void close() {
    closed = true;
    release();
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      // closing /dev/null does not fail in a way that matters: the slot is free either way
    }
  }
}
