package io.herd.core.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Copies one output stream of a worker process, line by line, to a consumer (the log): a named
 * daemon thread per stream, alive until the stream ends, i.e. until the process and every
 * descendant that inherited the stream have exited.
 *
 * <p>Lines end at {@code \n} (a trailing {@code \r} is dropped) and are decoded as UTF-8 with
 * replacement. A line longer than {@link #MAX_LINE_BYTES} is cut into several, so a worker that
 * writes megabytes without a newline cannot exhaust the heap, which {@code
 * BufferedReader.readLine()} would let it do.
 *
 * <p>Thread-safety: the consumer is called from the pump thread only. {@link #finished()} may be
 * read from any thread.
 */
final class OutputPump implements Runnable {

  /** Longest line passed on in one piece. */
  static final int MAX_LINE_BYTES = 8192;

  private final InputStream in;
  private final Consumer<String> lines;
  private final CompletableFuture<Void> finished = new CompletableFuture<>();

  private OutputPump(InputStream in, Consumer<String> lines) {
    this.in = in;
    this.lines = lines;
  }

  /** Starts a daemon thread named {@code threadName} that pumps {@code in} into {@code lines}. */
  static OutputPump start(String threadName, InputStream in, Consumer<String> lines) {
    OutputPump pump = new OutputPump(in, lines);
    Thread thread = new Thread(pump, threadName);
    thread.setDaemon(true);
    thread.start();
    return pump;
  }

  /** Completes when the stream has ended and every line was passed on. */
  CompletableFuture<Void> finished() {
    return finished;
  }

  @Override
  public void run() {
    ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    byte[] chunk = new byte[4096];
    try (in) {
      int n;
      while ((n = in.read(chunk)) >= 0) {
        for (int i = 0; i < n; i++) {
          byte b = chunk[i];
          if (b == '\n') {
            emit(line);
          } else {
            line.write(b);
            if (line.size() >= MAX_LINE_BYTES) {
              emit(line);
            }
          }
        }
      }
    } catch (IOException e) {
      // The stream was closed under us (the process was reaped): what was read is passed on.
    } finally {
      if (line.size() > 0) {
        emit(line);
      }
      finished.complete(null);
    }
  }

  private void emit(ByteArrayOutputStream line) {
    byte[] bytes = line.toByteArray();
    int length = bytes.length;
    if (length > 0 && bytes[length - 1] == '\r') {
      length--;
    }
    line.reset();
    try {
      lines.accept(new String(bytes, 0, length, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      // A failing consumer (a broken log appender) must not stop the pump: an unread pipe
      // fills up and blocks the worker on its next write.
    }
  }
}
