package io.herd.core.process;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Copies one output stream of a worker process, line by line (see {@link LineSplitter}), to a
 * consumer (the log): a named daemon thread per stream, alive until the stream ends, i.e. until
 * the process and every descendant that inherited the stream have exited. Used only for workers
 * that are the JVM's own children ({@link JdkWorkerProcess}, where {@code herd-launch} cannot
 * supervise them); the {@link ProcessSupervisor} reads every other worker's output on one thread.
 *
 * <p>Thread-safety: the consumer is called from the pump thread only. {@link #finished()} may be
 * read from any thread.
 */
final class OutputPump implements Runnable {

  /** Longest line passed on in one piece. */
  static final int MAX_LINE_BYTES = LineSplitter.MAX_LINE_BYTES;

  private final InputStream in;
  private final LineSplitter lines;
  private final CompletableFuture<Void> finished = new CompletableFuture<>();

  private OutputPump(InputStream in, Consumer<String> lines) {
    this.in = in;
    this.lines = new LineSplitter(lines);
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
    byte[] chunk = new byte[4096];
    try (in) {
      int n;
      while ((n = in.read(chunk)) >= 0) {
        lines.feed(chunk, 0, n);
      }
    } catch (IOException e) {
      // The stream was closed under us (the process was reaped): what was read is passed on.
    } finally {
      lines.finish();
      finished.complete(null);
    }
  }
}
