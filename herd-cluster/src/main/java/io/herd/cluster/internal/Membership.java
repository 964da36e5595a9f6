package io.herd.cluster.internal;

import io.herd.core.Scheduler;
import io.herd.core.Ticker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This gateway's etcd lease and the fence that protects it: joins (grants a lease and registers),
 * renews, notices when the lease could be lost, fences, and rejoins.
 *
 * <h2>Design</h2>
 *
 * <pre>
 *   STARTING ──join──▶ CONNECTED ◀──renewal ok── DEGRADED
 *                          │ renewal failed ─────────▲ │
 *                          ▼                           ▼
 *                       FENCED (now ≥ validUntil − fenceMargin, or the lease is gone)
 *                          │ join again (old lease revoked first, best effort)
 *                          ▼
 *                       CONNECTED ...            any ──close()──▶ CLOSED
 * </pre>
 *
 * <p><b>Joining</b>: grant a lease, register (write this node's record, read the whole view and
 * start the watch), renew once, and only then serve.
 *
 * <p><b>The fence clock.</b> Renewals are {@code keepAliveOnce} calls, one every {@code ttl/5},
 * each bounded by the request timeout, several possibly in flight. {@code validUntil} is the
 * <em>send time</em> of the latest acknowledged renewal plus the TTL etcd granted, read on this
 * gateway's monotonic {@link Ticker}. etcd starts a lease's new TTL only when it receives the
 * renewal, after we sent it, so the lease cannot expire in etcd before {@code validUntil}. When
 * {@code now >= validUntil - fenceMargin} the gateway fences: the margin is the time its workers
 * get to exit before a peer could claim their keys. A renewal answered with "lease not found"
 * fences at once.
 *
 * <p><b>Epochs.</b> Every fence increments {@link #epoch()}. Work begun in one epoch (a claim, a
 * local acquire) checks on completion that the epoch is unchanged; otherwise it is undone. That is
 * how an acquire that was in flight during the fence ends its session instead of serving it.
 *
 * <p><b>Threads.</b> State lives under this object's lock; the lock is never held while calling
 * etcd or the {@link Hooks}. Timers run on the cluster's {@link Scheduler}; etcd answers arrive on
 * jetcd's threads. Lifetime: {@link #start()} once, {@link #close()} once.
 */
final class Membership {

  /** What a join and a fence do beyond the lease itself. */
  interface Hooks {
    /** Registers this node under {@code lease} and syncs the view; completes when done. */
    CompletableFuture<Void> register(long lease);

    /** The gateway fenced: end every session at once. Called without the lock held. */
    void fenced(String reason);
  }

  /** The membership's phase; {@link #STARTING} until the first join. */
  enum Phase {
    STARTING,
    CONNECTED,
    DEGRADED,
    FENCED,
    CLOSED;

    /** Whether sessions owned here may be served. */
    boolean serving() {
      return this == CONNECTED || this == DEGRADED;
    }
  }

  /** A consistent reading of the phase, epoch and lease. */
  record Snapshot(Phase phase, long epoch, long lease) {}

  private static final Logger log = LoggerFactory.getLogger(Membership.class);
  private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String node;
  private final long ttlSeconds;
  private final long renewNanos;
  private final long fenceMarginNanos;
  private final Etcd etcd;
  private final Ticker ticker;
  private final Scheduler scheduler;
  private final Hooks hooks;

  // Guarded by this.
  private Phase phase = Phase.STARTING;
  private long epoch;
  private long lease;
  private long validUntil;
  private boolean joining;
  private Scheduler.Task renewTask;
  private Scheduler.Task fenceTask;
  /** {@link #snapshot()}: written under the lock by {@link #publish()}, read without it. */
  private volatile Snapshot current = new Snapshot(Phase.STARTING, 0, 0);

  Membership(
      String node,
      Duration ttl,
      Duration fenceMargin,
      Etcd etcd,
      Ticker ticker,
      Scheduler scheduler,
      Hooks hooks) {
    this.node = node;
    this.ttlSeconds = ttl.toSeconds();
    this.renewNanos = ttl.toNanos() / 5;
    this.fenceMarginNanos = fenceMargin.toNanos();
    this.etcd = etcd;
    this.ticker = ticker;
    this.scheduler = scheduler;
    this.hooks = hooks;
  }

  /** Starts joining in the background; never fails because etcd is down. */
  void start() {
    scheduler.schedule(this::join, 0, TimeUnit.NANOSECONDS);
  }

  /**
   * Phase, epoch and lease as one consistent value, read without the lock: every request reads
   * it, so it is published (volatile) by each change made under the lock instead.
   */
  Snapshot snapshot() {
    return current;
  }

  Phase phase() {
    return current.phase();
  }

  long epoch() {
    return current.epoch();
  }

  /** The current lease, 0 when none. */
  long lease() {
    return current.lease();
  }

  /** Publishes phase, epoch and lease after a change; called with the lock held. */
  private void publish() {
    current = new Snapshot(phase, epoch, lease);
  }

  /**
   * Stops renewing and rejoining; returns the lease to revoke (0 when none). The caller writes the
   * leaving mark and revokes. Idempotent.
   */
  long close() {
    synchronized (this) {
      if (phase == Phase.CLOSED) {
        return 0;
      }
      phase = Phase.CLOSED;
      epoch++;
      cancelTimers();
      long held = lease;
      lease = 0;
      publish();
      return held;
    }
  }

  // ---------------------------------------------------------------- joining

  private void join() {
    synchronized (this) {
      if (joining || (phase != Phase.STARTING && phase != Phase.FENCED)) {
        return;
      }
      joining = true;
    }
    etcd.grant(ttlSeconds)
        .thenCompose(
            grant ->
                hooks
                    .register(grant.getID())
                    .thenCompose(
                        registered -> {
                          // Renewed once more after registering (which reads the whole view and
                          // may take a while), so the fence clock starts from a fresh renewal.
                          long sent = ticker.read();
                          return etcd.keepAliveOnce(grant.getID())
                              .thenApply(
                                  r ->
                                      new Joined(
                                          grant.getID(),
                                          sent + TimeUnit.SECONDS.toNanos(r.getTTL())));
                        })
                    .whenComplete(
                        (ok, err) -> {
                          if (err != null) {
                            revokeQuietly(grant.getID());
                          }
                        }))
        .whenComplete(
            (joined, err) -> {
              if (err != null) {
                joinFailed(err);
              } else {
                joined(joined.lease(), joined.validUntil());
              }
            });
  }

  /** A lease granted, registered and renewed once. */
  private record Joined(long lease, long validUntil) {}

  private void joined(long granted, long until) {
    boolean tooLate;
    synchronized (this) {
      joining = false;
      if (phase == Phase.CLOSED) {
        revokeQuietly(granted);
        return;
      }
      tooLate = ticker.read() - (until - fenceMarginNanos) >= 0;
      if (!tooLate) {
        Phase before = phase;
        phase = Phase.CONNECTED;
        lease = granted;
        publish();
        validUntil = until;
        renewTask = scheduler.schedule(this::renew, renewNanos, TimeUnit.NANOSECONDS);
        armFenceCheck();
        log.info(
            "cluster node {} {} with lease {} (ttl {}s)",
            node,
            before == Phase.STARTING ? "joined" : "rejoined",
            Long.toHexString(granted),
            ttlSeconds);
        return;
      }
    }
    // Registering took so long that the new lease is already inside its fence margin.
    revokeQuietly(granted);
    joinFailed(new IllegalStateException("joining took longer than the lease allows"));
  }

  private void joinFailed(Throwable err) {
    synchronized (this) {
      joining = false;
      if (phase == Phase.CLOSED) {
        return;
      }
    }
    log.debug("cluster node {} cannot join yet: {}", node, Etcd.describe(err));
    scheduler.schedule(this::join, RETRY_NANOS, TimeUnit.NANOSECONDS);
  }

  // ---------------------------------------------------------------- renewing

  private void renew() {
    long current;
    synchronized (this) {
      if (!phase.serving()) {
        return;
      }
      current = lease;
      renewTask = scheduler.schedule(this::renew, renewNanos, TimeUnit.NANOSECONDS);
    }
    long sent = ticker.read();
    etcd.keepAliveOnce(current)
        .whenComplete((r, err) -> renewed(current, sent, r == null ? 0 : r.getTTL(), err));
  }

  private void renewed(long renewedLease, long sent, long ttl, Throwable err) {
    boolean lost = false;
    synchronized (this) {
      if (renewedLease != lease || !phase.serving()) {
        return; // an answer about a lease we no longer hold
      }
      if (err == null && ttl > 0) {
        validUntil = Math.max(validUntil, sent + TimeUnit.SECONDS.toNanos(ttl));
        if (phase == Phase.DEGRADED) {
          phase = Phase.CONNECTED;
          publish();
          log.info("cluster node {} reaches etcd again", node);
        }
      } else if (err == null || Etcd.isLeaseNotFound(err)) {
        lost = true;
      } else if (phase == Phase.CONNECTED) {
        phase = Phase.DEGRADED;
        publish();
        log.warn(
            "cluster node {} cannot renew its lease ({}); new sessions are refused until etcd"
                + " answers, and it fences itself if that takes too long",
            node,
            Etcd.describe(err));
      }
    }
    if (lost) {
      fence("its lease is gone from etcd");
    }
  }

  // ---------------------------------------------------------------- fencing

  /** Guarded by this. Arms the fence check for the current deadline. */
  private void armFenceCheck() {
    long delay = validUntil - fenceMarginNanos - ticker.read();
    fenceTask = scheduler.schedule(this::checkFence, Math.max(0, delay), TimeUnit.NANOSECONDS);
  }

  private void checkFence() {
    synchronized (this) {
      if (!phase.serving()) {
        return;
      }
      if (ticker.read() - (validUntil - fenceMarginNanos) < 0) {
        armFenceCheck(); // renewed meanwhile: check again at the new deadline
        return;
      }
    }
    fence("no renewal of its lease was acknowledged in time");
  }

  /** Fences now, if serving: stops serving, then tells the hooks, then rejoins. */
  void fence(String reason) {
    long old;
    synchronized (this) {
      if (!phase.serving()) {
        return;
      }
      phase = Phase.FENCED;
      epoch++;
      cancelTimers();
      old = lease;
      lease = 0;
      publish();
    }
    log.warn(
        "cluster node {} FENCED: {}; it refuses every request and ends its sessions, and rejoins"
            + " when etcd answers",
        node,
        reason);
    try {
      hooks.fenced(reason);
    } finally {
      // The old lease is revoked before a new one is granted: its claims vanish at once when
      // etcd answers, rather than at its expiry.
      etcd.revoke(old)
          .whenComplete((r, err) -> scheduler.schedule(this::join, 0, TimeUnit.NANOSECONDS));
    }
  }

  /** Guarded by this. */
  private void cancelTimers() {
    if (renewTask != null) {
      renewTask.cancel();
      renewTask = null;
    }
    if (fenceTask != null) {
      fenceTask.cancel();
      fenceTask = null;
    }
  }

  private void revokeQuietly(long id) {
    etcd.revoke(id);
  }
}
