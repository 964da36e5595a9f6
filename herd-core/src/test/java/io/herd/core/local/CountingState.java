package io.herd.core.local;

import io.herd.core.SuspendedWorker;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A saved state for the suspension tests that counts what the pool did with it, so that a test
 * can check each state was resumed or discarded exactly once.
 */
final class CountingState implements SuspendedWorker {
  final String workerId;
  final AtomicInteger resumes = new AtomicInteger();
  final AtomicInteger discards = new AtomicInteger();

  CountingState(String workerId) {
    this.workerId = workerId;
  }

  @Override
  public String workerId() {
    return workerId;
  }

  @Override
  public long sizeBytes() {
    return 1;
  }

  @Override
  public void discard() {
    discards.incrementAndGet();
  }

  @Override
  public String toString() {
    return "state of " + workerId + " (resumes " + resumes + ", discards " + discards + ")";
  }
}
