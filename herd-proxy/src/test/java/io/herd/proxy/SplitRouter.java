package io.herd.proxy;

import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A session router for tests of forwarding between gateways: a function of the key says whether
 * the session is served by the local pool, owned by the peer gateway, or cannot be placed now.
 * Records every call (so a test sees whether a request reached the router at all, and as a hop
 * or not) and counts the peer leases still open (so a test sees that the gateway closed them).
 *
 * <p>Thread-safe. The pool and the peer are set once each gateway has started ({@link #bind},
 * {@link #peer}): the two gateways of a pair each need the other's address.
 */
final class SplitRouter implements SessionRouter {

  /** Where a key goes. */
  enum Route { LOCAL, PEER, UNAVAILABLE }

  /** One call of {@link #acquire}. */
  record Call(String key, boolean forwarded) {}

  /** What an {@link Route#UNAVAILABLE} key fails with. */
  static final String UNAVAILABLE_MESSAGE = "the session directory is unreachable; try again";
  static final Duration UNAVAILABLE_RETRY = Duration.ofMillis(2500);
  /**
   * What a peer lease reports as its wait: a gateway that took it for a cold start of its own
   * would say so in {@code X-Herd-Cold-Start: 7777}.
   */
  static final Duration PEER_LEASE_WAIT = Duration.ofMillis(7777);

  private final Function<String, Route> routes;
  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final AtomicInteger openPeerLeases = new AtomicInteger();
  private volatile SessionPool pool;
  private volatile PeerGateway peer;

  SplitRouter(Function<String, Route> routes) {
    this.routes = routes;
  }

  void bind(SessionPool pool) {
    this.pool = pool;
  }

  void peer(PeerGateway peer) {
    this.peer = peer;
  }

  PeerGateway peer() {
    return peer;
  }

  @Override
  public CompletableFuture<SessionLease> acquire(String key, boolean forwarded) {
    calls.add(new Call(key, forwarded));
    return switch (routes.apply(key)) {
      case LOCAL -> pool.acquire(key);
      case PEER ->
          CompletableFuture.completedFuture(new PeerLease(key, Objects.requireNonNull(peer)));
      case UNAVAILABLE -> CompletableFuture.failedFuture(
          new RouteUnavailableException(UNAVAILABLE_MESSAGE, UNAVAILABLE_RETRY));
    };
  }

  List<Call> calls() {
    return List.copyOf(calls);
  }

  /** The calls for {@code key}. */
  List<Call> calls(String key) {
    return calls.stream().filter(c -> c.key().equals(key)).toList();
  }

  int openPeerLeases() {
    return openPeerLeases.get();
  }

  /** A lease on the peer gateway; counts itself open until closed (once). */
  private final class PeerLease implements SessionLease {
    private final String key;
    private final PeerGateway owner;
    private final AtomicBoolean closed = new AtomicBoolean();

    PeerLease(String key, PeerGateway owner) {
      this.key = key;
      this.owner = owner;
      openPeerLeases.incrementAndGet();
    }

    @Override
    public String key() {
      return key;
    }

    @Override
    public Worker worker() {
      return owner;
    }

    @Override
    public Duration waited() {
      return PEER_LEASE_WAIT;
    }

    @Override
    public boolean newSession() {
      return true;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        openPeerLeases.decrementAndGet();
      }
    }
  }
}
