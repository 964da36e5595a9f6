package io.herd.core.process;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the lines one worker prints go: each stdout and stderr line to the loggers {@code
 * io.herd.worker.stdout} and {@code io.herd.worker.stderr}, tagged {@code [<id>]}, both at INFO;
 * the last {@value #STDERR_TAIL_LINES} stderr lines kept for start-failure messages; both streams,
 * interleaved, kept in a {@link WorkerOutput} for {@code herd logs --session}. Created before the
 * worker's process starts, so that not even its first line is lost, whoever reads its pipes
 * ({@link OutputPump}s or the {@link ProcessSupervisor}).
 *
 * <p>Stderr is not logged at WARN because most runtimes (Python's logging, Go's log, Node's
 * console.error, the JVM's own messages) write ordinary logs there, and WARN would cry wolf. Both
 * loggers sit under {@code io.herd.worker}, so one setting controls both.
 *
 * <p>Thread-safe: the two streams may be fed from different threads. Lifetime: the worker's
 * object.
 */
final class WorkerLines {

  /** Number of stderr lines kept for error messages. */
  static final int STDERR_TAIL_LINES = 20;

  private static final Logger STDOUT = LoggerFactory.getLogger("io.herd.worker.stdout");
  private static final Logger STDERR = LoggerFactory.getLogger("io.herd.worker.stderr");

  private final String id;
  private final RecentLines stderrTail = new RecentLines(STDERR_TAIL_LINES);
  private final WorkerOutput output = new WorkerOutput();

  WorkerLines(String id) {
    this.id = id;
  }

  /** One line the worker wrote to stdout, without its line end. */
  void stdout(String line) {
    output.add(WorkerOutput.Stream.STDOUT, line);
    STDOUT.info("[{}] {}", id, line);
  }

  /** One line the worker wrote to stderr, without its line end. */
  void stderr(String line) {
    stderrTail.add(line);
    output.add(WorkerOutput.Stream.STDERR, line);
    STDERR.info("[{}] {}", id, line);
  }

  /** Both streams' recent lines. */
  WorkerOutput output() {
    return output;
  }

  /** The last {@value #STDERR_TAIL_LINES} stderr lines, oldest first. */
  List<String> recentStderr() {
    return stderrTail.snapshot();
  }
}
