package io.herd.cluster.internal;

import io.herd.core.SessionLease;
import io.herd.core.Worker;
import io.herd.proxy.PeerGateway;
import java.time.Duration;

/**
 * A lease that sends its request to the peer gateway owning the session. It holds nothing on this
 * gateway, so closing it does nothing; the peer keeps its own lease while it serves the hop.
 * Immutable and thread-safe.
 */
record PeerLease(String key, PeerGateway peer) implements SessionLease {

  @Override
  public Worker worker() {
    return peer;
  }

  /** Zero: this gateway waited for no worker (the peer reports its own cold start). */
  @Override
  public Duration waited() {
    return Duration.ZERO;
  }

  /** False: whether the session is new is the peer's to say. */
  @Override
  public boolean newSession() {
    return false;
  }

  @Override
  public void close() {}
}
