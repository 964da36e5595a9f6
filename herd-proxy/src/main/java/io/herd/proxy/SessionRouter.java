package io.herd.proxy;

import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import java.util.concurrent.CompletableFuture;

/**
 * Decides where a session is served: by this gateway's own pool, or by a peer gateway that owns the
 * session (several gateways sharing sessions, see {@code herd-cluster}). The gateway asks it once
 * per request, in place of {@link SessionPool#acquire}.
 *
 * <p>A lease whose {@link SessionLease#worker()} is a {@link PeerGateway} sends the request on to
 * that gateway, authenticated as a forwarded hop; any other lease is a local worker. The default,
 * {@link #local(SessionPool)}, serves everything locally.
 *
 * <p>Implementations must be thread-safe and must not block: the gateway calls them on its event
 * loops. Cancelling the returned future withdraws the acquire, as for {@link SessionPool#acquire}.
 */
@FunctionalInterface
public interface SessionRouter {

  /**
   * A lease for session {@code key}: from the local pool, or on the peer gateway that serves it.
   *
   * @param forwarded the request came from a peer gateway with a valid hop signature; such a request
   *     is never sent on again (at most one hop), so the router must serve it locally or fail
   * @return fails as {@link SessionPool#acquire} does, or with {@link RouteUnavailableException}
   *     when the router cannot decide now (answered 503 with {@code Retry-After})
   */
  CompletableFuture<SessionLease> acquire(String key, boolean forwarded);

  /** Serves every session from {@code pool}. */
  static SessionRouter local(SessionPool pool) {
    return (key, forwarded) -> pool.acquire(key);
  }
}
