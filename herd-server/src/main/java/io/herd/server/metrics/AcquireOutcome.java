package io.herd.server.metrics;

import io.herd.core.AcquireTimeoutException;
import io.herd.core.PoolClosedException;
import io.herd.core.QueueFullException;
import io.herd.core.WorkerStartException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** How an acquire or spawn ended, as the {@code outcome} tag of its timer. */
enum AcquireOutcome {
  OK("ok"),
  QUEUE_FULL("queue_full"),
  TIMEOUT("timeout"),
  START_FAILED("start_failed"),
  CLOSED("closed"),
  CANCELLED("cancelled"),
  ERROR("error");

  final String tag;

  AcquireOutcome(String tag) {
    this.tag = tag;
  }

  /** The outcome of a future that completed with {@code error} (null when it succeeded). */
  static AcquireOutcome of(Throwable error) {
    Throwable e = error;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    if (e == null) {
      return OK;
    } else if (e instanceof QueueFullException) {
      return QUEUE_FULL;
    } else if (e instanceof AcquireTimeoutException) {
      return TIMEOUT;
    } else if (e instanceof WorkerStartException) {
      return START_FAILED;
    } else if (e instanceof PoolClosedException) {
      return CLOSED;
    } else if (e instanceof CancellationException) {
      return CANCELLED;
    }
    return ERROR;
  }
}
