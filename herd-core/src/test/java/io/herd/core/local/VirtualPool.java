package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.testing.ScriptedWorkerFactory;
import io.herd.core.testing.VirtualTime;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A pool of {@link io.herd.core.testing.ScriptedWorker}s in virtual time, for tests of what time
 * decides (expiry, maxLifetime, acquire deadlines, spawn backoff): no process, no wall clock,
 * nothing on another thread, so the assertions are exact ("not a nanosecond before the TTL") and
 * cannot flake on a busy machine. Closing it shuts the pool down and asserts that it terminated
 * with every worker gone.
 */
final class VirtualPool implements AutoCloseable {

  final VirtualTime time = new VirtualTime();
  final ScriptedWorkerFactory factory = new ScriptedWorkerFactory();
  final RecordingListener events = new RecordingListener();
  final LocalSessionPool pool;

  VirtualPool(PoolConfig.Builder config) {
    this.pool =
        (LocalSessionPool)
            SessionPool.builder(config.build(), factory)
                .ticker(time)
                .scheduler(time)
                .listener(events)
                .build();
  }

  /** A small pool; health checks rare enough that they only run when a test advances far. */
  static PoolConfig.Builder config() {
    return PoolConfig.builder()
        .name("virtual")
        .min(0)
        .max(4)
        .warm(0)
        .acquireTimeout(Duration.ofSeconds(30))
        .ttl(Duration.ofMinutes(5))
        .healthInterval(Duration.ofHours(1));
  }

  /** Acquires {@code key}, which must be served at once (an idle worker or an instant spawn). */
  SessionLease lease(String key) {
    CompletableFuture<SessionLease> f = pool.acquire(key);
    assertThat(f).as("acquire of %s served at once", key).isDone();
    return f.join();
  }

  void advance(Duration d) {
    time.advance(d);
  }

  @Override
  public void close() {
    factory.exitOnStop(true).startAtOnce(true);
    CompletableFuture<Void> done = pool.shutdown();
    for (String id : factory.pendingSpawns()) {
      factory.completeSpawn(id);
    }
    factory.aliveWorkers().stream().filter(w -> w.stopRequested()).forEach(w -> w.finishStop());
    assertThat(done).as("pool terminated").isDone();
    assertThat(factory.processes()).as("workers left").isZero();
  }
}
