package io.herd.core.local;

import java.util.ArrayList;
import java.util.List;

/**
 * What a decision taken under the allocator lock asks to be done once the lock is released:
 * completing futures, firing listeners, starting spawns and stopping workers all run user or
 * factory code, which must never run while the lock is held.
 *
 * <p>Confined to the thread that made the decision; {@link LocalSessionPool#apply} runs it.
 */
final class Effects {

  /** Sessions handed a worker: complete their {@code ready} futures. */
  final List<Session> activated = new ArrayList<>(2);

  /** Sessions that got no worker: fail their {@code ready} futures with the paired error. */
  final List<Session> failed = new ArrayList<>(0);

  final List<Throwable> failures = new ArrayList<>(0);

  /** Sessions ended to free a worker for the queue. */
  final List<Session> evicted = new ArrayList<>(0);

  /** Freed workers to health-check before reuse. */
  final List<PooledWorker> toCheck = new ArrayList<>(0);

  /** Workers to stop. */
  final List<PooledWorker> toStop = new ArrayList<>(0);

  /** Ids of workers to spawn. */
  final List<String> toSpawn = new ArrayList<>(0);

  void fail(Session session, Throwable error) {
    failed.add(session);
    failures.add(error);
  }
}
