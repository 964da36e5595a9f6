package io.herd.cluster.internal;

import io.herd.cluster.ClusterCounters;
import java.util.concurrent.atomic.LongAdder;

/** The cluster's counters, bumped from any thread. Thread-safe; lives as long as its member. */
final class Counters {
  final LongAdder claims = new LongAdder();
  final LongAdder claimConflicts = new LongAdder();
  final LongAdder forwarded = new LongAdder();
  final LongAdder leaseLosses = new LongAdder();
  final LongAdder sessionsLost = new LongAdder();

  ClusterCounters snapshot() {
    return new ClusterCounters(
        claims.sum(), claimConflicts.sum(), forwarded.sum(), leaseLosses.sum(), sessionsLost.sum());
  }
}
