package io.herd.core.process;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Cuts the bytes of one output stream of a worker into lines for a consumer (the log), fed
 * chunk by chunk as they are read: by an {@link OutputPump} thread, or by the {@link
 * ProcessSupervisor}'s reader for every supervised worker.
 *
 * <p>Lines end at {@code \n} (a trailing {@code \r} is dropped) and are decoded as UTF-8 with
 * replacement. A line longer than {@link #MAX_LINE_BYTES} is cut into several, so a worker that
 * writes megabytes without a newline cannot exhaust the heap, which {@code
 * BufferedReader.readLine()} would let it do.
 *
 * <p>Not thread-safe: one thread feeds it (its owner's). Lifetime: one stream.
 */
final class LineSplitter {

  /** Longest line passed on in one piece. */
  static final int MAX_LINE_BYTES = 8192;

  private final Consumer<String> lines;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);

  LineSplitter(Consumer<String> lines) {
    this.lines = lines;
  }

  /** Passes on every line that {@code bytes[offset, offset+length)} completes. */
  void feed(byte[] bytes, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      byte b = bytes[i];
      if (b == '\n') {
        emit();
      } else {
        line.write(b);
        if (line.size() >= MAX_LINE_BYTES) {
          emit();
        }
      }
    }
  }

  /** The stream ended: passes on an unfinished last line. */
  void finish() {
    if (line.size() > 0) {
      emit();
    }
  }

  private void emit() {
    byte[] bytes = line.toByteArray();
    int length = bytes.length;
    if (length > 0 && bytes[length - 1] == '\r') {
      length--;
    }
    line.reset();
    try {
      lines.accept(new String(bytes, 0, length, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      // A failing consumer (a broken log appender) must not stop the reading: an unread pipe
      // fills up and blocks the worker on its next write.
    }
  }
}
