package io.herd.core.local;

import io.herd.core.PoolStats;
import java.util.concurrent.atomic.LongAdder;

/**
 * The pool's event counters, and the assembly of {@link PoolStats} from them and the allocator's
 * gauges. Each counter is incremented where the event is reported (so exactly once per event), on
 * whichever thread reports it.
 *
 * <p>Thread-safe and never blocking: {@link LongAdder}s, so that threads reporting events for
 * different sessions do not contend on one counter. Lifetime: one per pool.
 */
final class PoolCounters {

  final LongAdder spawns = new LongAdder();
  final LongAdder spawnFailures = new LongAdder();
  final LongAdder crashes = new LongAdder();
  final LongAdder evictions = new LongAdder();
  final LongAdder expirations = new LongAdder();
  final LongAdder acquireTimeouts = new LongAdder();
  final LongAdder queueRejections = new LongAdder();
  final LongAdder suspensions = new LongAdder();
  final LongAdder resumes = new LongAdder();

  /** Sessions announced minus sessions reported ended; may lag an event behind. */
  final LongAdder activeSessions = new LongAdder();

  /** A snapshot: the gauges are read one by one, so they may be a few events apart. */
  PoolStats stats(Allocator allocator) {
    int idle = allocator.idleGauge();
    int busy = allocator.busyGauge();
    int starting = allocator.startingGauge();
    int stopping = allocator.stoppingGauge();
    return new PoolStats(
        idle + busy + starting + stopping,
        idle,
        busy,
        starting,
        stopping,
        (int) Math.max(0, activeSessions.sum()),
        allocator.queuedGauge(),
        spawns.sum(),
        spawnFailures.sum(),
        crashes.sum(),
        evictions.sum(),
        expirations.sum(),
        acquireTimeouts.sum(),
        queueRejections.sum(),
        allocator.suspendedGauge(),
        suspensions.sum(),
        resumes.sum());
  }
}
