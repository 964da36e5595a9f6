package io.herd.cluster.internal;

import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.proxy.PeerGateway;
import io.herd.proxy.RouteUnavailableException;
import io.herd.proxy.SessionRouter;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's {@link SessionRouter}: serves a key from the local pool when this gateway holds its
 * claim, forwards it to the peer that owns it, or claims it.
 *
 * <p>For each request, in order:
 *
 * <ol>
 *   <li>Not serving (starting, fenced, closed) → {@link RouteUnavailableException}.
 *   <li>A local claim of the current epoch → take a hold, {@code pool.acquire}, drop the hold when
 *       that completes. No etcd call: local sessions keep working while etcd is down.
 *   <li>Not forwarded, and the cached owner is a live peer → a lease on that {@link PeerGateway}.
 *   <li>Otherwise claim ({@link Claims#claim}); mine → as 2; a peer's → forward, unless the request
 *       was itself forwarded (at most one hop) → 503 "misdirected".
 *   <li>etcd unreachable → 503 with {@code Retry-After}.
 * </ol>
 *
 * <p><b>Epoch check.</b> A local acquire remembers the membership epoch it started in; if the
 * gateway fenced before the pool answered, the lease is closed, the session ended, and the request
 * refused — so no worker serves a key after the fence.
 *
 * <p>Never blocks: every step is a future. Thread-safe. Lifetime: that of its cluster member.
 */
final class ClusterRouter implements SessionRouter {

  private static final Logger log = LoggerFactory.getLogger(ClusterRouter.class);
  private static final int MAX_ROUNDS = 3;

  private final String self;
  private final SessionPool pool;
  private final Membership membership;
  private final Claims claims;
  private final ClusterView view;
  private final Etcd etcd;
  private final KeyLayout layout;
  private final Counters counters;

  ClusterRouter(
      String self,
      SessionPool pool,
      Membership membership,
      Claims claims,
      ClusterView view,
      Etcd etcd,
      KeyLayout layout,
      Counters counters) {
    this.self = self;
    this.pool = pool;
    this.membership = membership;
    this.claims = claims;
    this.view = view;
    this.etcd = etcd;
    this.layout = layout;
    this.counters = counters;
  }

  @Override
  public CompletableFuture<SessionLease> acquire(String key, boolean forwarded) {
    return acquire(key, forwarded, 0);
  }

  private CompletableFuture<SessionLease> acquire(String key, boolean forwarded, int round) {
    Membership.Snapshot m = membership.snapshot();
    if (!m.phase().serving()) {
      return CompletableFuture.failedFuture(refusal(m.phase()));
    }
    KeyState held = claims.hold(key, m.epoch());
    if (held != null) {
      return local(key, held, m.epoch());
    }
    if (!forwarded) {
      Optional<String> owner = view.owner(key).filter(node -> !node.equals(self));
      Optional<PeerGateway> peer = owner.flatMap(view::peer);
      if (peer.isPresent()) {
        return forward(key, peer.get());
      }
    }
    if (m.lease() == 0) {
      return CompletableFuture.failedFuture(refusal(m.phase()));
    }
    CompletableFuture<SessionLease> result = new CompletableFuture<>();
    CompletableFuture<Claims.Outcome> claim;
    try {
      claim = claims.claim(key, forwarded, m);
    } catch (RuntimeException e) { // e.g. jetcd closed under us: fail the request, never hang it
      return CompletableFuture.failedFuture(e);
    }
    claim
        .whenComplete(
            (outcome, err) -> {
              // Runs as soon as the claim settles, on the thread that settled it: a hold on a
              // won claim is taken before the claimer drops its own (see Claims#claim).
              if (err != null) {
                result.completeExceptionally(Etcd.unwrap(err));
              } else {
                CompletableFuture<SessionLease> next;
                try {
                  next = settled(key, forwarded, round, m, outcome);
                } catch (RuntimeException e) { // a throw here must fail the request, not hang it
                  next = CompletableFuture.failedFuture(e);
                }
                relay(next, result);
              }
            });
    return result;
  }

  /** What to do once the claim of {@code key} came out as {@code outcome}. */
  private CompletableFuture<SessionLease> settled(
      String key, boolean forwarded, int round, Membership.Snapshot m, Claims.Outcome outcome) {
    if (outcome instanceof Claims.Mine mine) {
      KeyState ks = mine.state();
      if (ks.epoch == m.epoch() && ks.tryHold()) {
        return local(key, ks, m.epoch());
      }
      if (round + 1 < MAX_ROUNDS) {
        return acquire(key, forwarded, round + 1); // released just now: claim again
      }
      return CompletableFuture.failedFuture(
          new RouteUnavailableException(
              "session '" + key + "' is changing hands too fast; retry", Claims.RETRY_SOON));
    }
    String owner = ((Claims.Theirs) outcome).node();
    if (forwarded) {
      return CompletableFuture.failedFuture(
          new RouteUnavailableException(
              "misdirected: session '"
                  + key
                  + "' belongs to gateway "
                  + owner
                  + ", and a forwarded request is not forwarded again",
              Claims.RETRY_SOON));
    }
    return forwardTo(key, owner);
  }

  /**
   * Completes {@code to} as {@code from} completes, with the bare cause on failure (never a
   * CompletionException); a lease that arrives after {@code to} was cancelled is closed, and
   * cancelling {@code to} cancels {@code from}.
   */
  private static void relay(
      CompletableFuture<SessionLease> from, CompletableFuture<SessionLease> to) {
    from.whenComplete(
        (lease, err) -> {
          if (err != null) {
            to.completeExceptionally(Etcd.unwrap(err));
          } else if (!to.complete(lease)) {
            lease.close();
          }
        });
    to.whenComplete(
        (lease, err) -> {
          if (to.isCancelled()) {
            from.cancel(false);
          }
        });
  }

  /** Serves {@code key} from the local pool under a hold on its claim. */
  private CompletableFuture<SessionLease> local(String key, KeyState ks, long epoch) {
    CompletableFuture<SessionLease> acquired;
    try {
      acquired = pool.acquire(key);
    } catch (RuntimeException e) {
      claims.release(ks);
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<SessionLease> result = new CompletableFuture<>();
    acquired.whenComplete(
        (lease, err) -> {
          claims.release(ks);
          Membership.Snapshot now = membership.snapshot();
          boolean fenced = now.epoch() != epoch || !now.phase().serving();
          if (err != null) {
            // A session ended by the fence fails its acquirers; say why.
            Throwable cause = Etcd.unwrap(err);
            result.completeExceptionally(fenced ? refusal(now.phase(), cause) : cause);
            return;
          }
          if (fenced) {
            // Fenced while the pool was assigning: this worker must not serve the key.
            lease.close();
            pool.end(key);
            result.completeExceptionally(refusal(now.phase()));
            return;
          }
          if (!result.complete(lease)) {
            lease.close(); // the caller gave up meanwhile
          }
        });
    result.whenComplete(
        (lease, err) -> {
          if (result.isCancelled()) {
            acquired.cancel(false); // withdraws the acquire, as SessionPool#acquire promises
          }
        });
    return result;
  }

  /** Forwards to {@code owner}, learning its address from etcd if the cache has not yet. */
  private CompletableFuture<SessionLease> forwardTo(String key, String owner) {
    Optional<PeerGateway> peer = view.peer(owner);
    if (peer.isPresent()) {
      return forward(key, peer.get());
    }
    return etcd.get(layout.node(owner))
        .handle(
            (response, err) -> {
              Optional<NodeRecord> record =
                  err != null || response.getKvs().isEmpty()
                      ? Optional.empty()
                      : NodeRecord.decode(owner, response.getKvs().get(0).getValue());
              record.ifPresent(view::learn);
              Optional<PeerGateway> learned = view.peer(owner);
              if (learned.isEmpty()) {
                throw new RouteUnavailableException(
                    "session '"
                        + key
                        + "' belongs to gateway "
                        + owner
                        + ", which cannot be reached now; it is claimable again once that"
                        + " gateway's lease expires",
                    Claims.RETRY_SOON);
              }
              return learned.get();
            })
        .thenCompose(p -> forward(key, p));
  }

  private CompletableFuture<SessionLease> forward(String key, PeerGateway peer) {
    counters.forwarded.increment();
    log.trace("session {} forwarded to {}", key, peer);
    return CompletableFuture.completedFuture(new PeerLease(key, peer));
  }

  private static RouteUnavailableException refusal(Membership.Phase phase, Throwable cause) {
    RouteUnavailableException e = refusal(phase);
    e.initCause(cause);
    return e;
  }

  private static RouteUnavailableException refusal(Membership.Phase phase) {
    return switch (phase) {
      case STARTING ->
          new RouteUnavailableException(
              "this gateway has not joined its cluster yet: the session directory (etcd) is"
                  + " unreachable",
              Claims.RETRY_SOON);
      case FENCED ->
          new RouteUnavailableException(
              "this gateway is fenced: it lost contact with the session directory (etcd)",
              Claims.RETRY_SOON);
      case CLOSED ->
          new RouteUnavailableException("this gateway is leaving its cluster", Claims.RETRY_SOON);
      default ->
          new RouteUnavailableException(
              "this gateway's cluster membership changed; retry", Claims.RETRY_SOON);
    };
  }
}
