package io.herd.server.admin;

import io.herd.core.PoolListener;
import io.herd.core.Worker;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Whether the pool can start workers, for {@code /health/ready}: after {@value
 * #DEFAULT_THRESHOLD} spawns in a row have failed (a worker command that does not exist, a port
 * that never opens, a sandbox the host refuses), a new session would wait for a worker that never
 * comes, so the gateway reports itself not ready until a spawn succeeds again. Sessions on
 * running workers are not affected. One failure is not enough: a single slow start or a crash
 * during start happens to healthy pools, and the pool retries with a backoff.
 *
 * <p>A {@link PoolListener}: add it to the pool. Thread-safe (events come from pool threads).
 */
public final class SpawnHealth implements PoolListener {

  /** Consecutive failed spawns after which the gateway is not ready. */
  public static final int DEFAULT_THRESHOLD = 3;

  /** Longest error text carried into a probe's answer: a start failure may hold a stderr tail. */
  private static final int MAX_MESSAGE = 300;

  private final int threshold;
  private int failures;
  private String lastError;

  /** Not ready after {@value #DEFAULT_THRESHOLD} consecutive failures. */
  public SpawnHealth() {
    this(DEFAULT_THRESHOLD);
  }

  /** Not ready after {@code threshold} consecutive failures; {@code threshold >= 1}. */
  public SpawnHealth(int threshold) {
    if (threshold < 1) {
      throw new IllegalArgumentException("threshold must be >= 1: " + threshold);
    }
    this.threshold = threshold;
  }

  @Override
  public synchronized void spawnFailed(String workerId, Throwable error) {
    failures++;
    lastError = describe(error);
  }

  @Override
  public synchronized void workerStarted(Worker worker) {
    failures = 0;
    lastError = null;
  }

  /** Why new sessions cannot be served, when the last spawns all failed; empty otherwise. */
  public synchronized Optional<String> problem() {
    if (failures < threshold) {
      return Optional.empty();
    }
    return Optional.of("last " + failures + " worker spawns failed: " + lastError);
  }

  /** The first line of the root message, bounded: enough to act on, small enough for a probe. */
  private static String describe(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    int newline = message.indexOf('\n');
    if (newline >= 0) {
      message = message.substring(0, newline);
    }
    return message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) + "..." : message;
  }
}
