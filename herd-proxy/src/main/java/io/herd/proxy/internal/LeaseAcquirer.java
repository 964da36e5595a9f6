package io.herd.proxy.internal;

import io.herd.core.SessionLease;
import io.netty.channel.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets an exchange its turn at the session gate (when a per-session limit is set) and then its
 * lease from the session router (the pool, or a peer gateway that owns the session), and reports
 * back on the exchange's event loop; and gives both back when the exchange ends, whatever stage
 * it reached.
 *
 * <p>Thread-safety: {@link #acquire} and {@link #release} run on the exchange's event loop; the
 * router completes its future on other threads, so the outcome hops onto the loop before it touches
 * the exchange. A lease that arrives for an exchange that already ended is closed at once, and a
 * turn that arrives late is passed on, so neither leaks. Stateless apart from the gateway context;
 * one per gateway.
 */
final class LeaseAcquirer {

  private static final Logger log = LoggerFactory.getLogger(LeaseAcquirer.class);

  /** Where the outcome goes; called on the exchange's loop, only while it has not ended. */
  interface Callback {
    void onLease(Exchange e);

    /** @param cause what failed, when something threw (for the answer's detail), else null */
    void onFailure(Exchange e, UpstreamFailure failure, Throwable cause);
  }

  private final GatewayContext gw;

  LeaseAcquirer(GatewayContext gw) {
    this.gw = gw;
  }

  /** Starts the admission of {@code e}; the outcome goes to {@code callback} on {@code loop}. */
  void acquire(Exchange e, EventLoop loop, Callback callback) {
    if (!gw.gates.limited()) {
      acquireLease(e, loop, callback);
      return;
    }
    SessionGates.Waiter waiter = new SessionGates.Waiter(() -> onTurn(e, loop, callback), loop);
    switch (gw.gates.enter(e.key, waiter)) {
      case ADMITTED -> acquireLease(e, loop, callback);
      case QUEUED -> {
        e.waiter = waiter;
        e.waitTimer = loop.schedule(() -> {
          if (e.waiter != null && gw.gates.withdraw(e.key, waiter)) {
            e.waiter = null;
            if (!e.ended()) {
              callback.onFailure(e, UpstreamFailure.SESSION_WAIT_TIMEOUT, null);
            }
          }
        }, gw.pool.config().acquireTimeout().toNanos(), TimeUnit.NANOSECONDS);
      }
      case REJECTED -> callback.onFailure(e, UpstreamFailure.SESSION_BUSY, null);
    }
  }

  private void onTurn(Exchange e, EventLoop loop, Callback callback) {
    e.waiter = null;
    if (e.waitTimer != null) {
      e.waitTimer.cancel(false);
    }
    if (e.ended()) {
      gw.gates.exit(e.key); // the turn came after the exchange ended: pass it on
      return;
    }
    acquireLease(e, loop, callback);
  }

  private void acquireLease(Exchange e, EventLoop loop, Callback callback) {
    e.phase = Exchange.Phase.ACQUIRING;
    CompletableFuture<SessionLease> future;
    try {
      future = gw.router.acquire(e.key, e.forwardedHop);
      if (future == null) {
        throw new IllegalStateException("the session router " + gw.router + " returned no future");
      }
    } catch (RuntimeException thrown) {
      // A router that throws (say, RouteUnavailableException) instead of failing its future
      // gets the same answer.
      future = CompletableFuture.failedFuture(thrown);
    }
    e.acquire = future;
    if (future.isDone() && !future.isCompletedExceptionally() && loop.inEventLoop()) {
      // A pinned session's lease is there at once: take it without the dependent future and
      // callback that whenComplete would allocate for every request (same order, same thread).
      onLease(e, future.join(), null, callback);
      return;
    }
    future.whenComplete((lease, error) -> {
      if (loop.inEventLoop()) {
        onLease(e, lease, error, callback);
        return;
      }
      try {
        loop.execute(() -> onLease(e, lease, error, callback));
      } catch (RejectedExecutionException shutDown) {
        if (lease != null) {
          lease.close();
        }
      }
    });
  }

  private void onLease(Exchange e, SessionLease lease, Throwable error, Callback callback) {
    if (e.ended()) {
      if (lease != null) {
        lease.close();
      }
      return;
    }
    if (error != null) {
      log.debug("acquire for session {} failed: {}", e.key, error.toString());
      callback.onFailure(e, UpstreamFailure.classify(error), error);
      return;
    }
    e.lease = lease;
    callback.onLease(e);
  }

  /**
   * Gives back what {@code e} holds or waits for: its place in line, its turn, its lease.
   *
   * @param was the phase the exchange ended in: whether it held the session's turn
   */
  void release(Exchange e, Exchange.Phase was) {
    if (e.waitTimer != null) {
      e.waitTimer.cancel(false);
    }
    if (e.waiter != null && gw.gates.withdraw(e.key, e.waiter)) {
      e.waiter = null;
    }
    if (e.acquire != null && e.lease == null) {
      e.acquire.cancel(false); // a lease that still arrives is closed by onLease
    }
    if (e.lease != null) {
      e.lease.close();
    }
    if (gw.gates.limited() && was != Exchange.Phase.QUEUED && was != Exchange.Phase.ENDED) {
      gw.gates.exit(e.key);
    }
  }
}
