package io.herd.proxy;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * Another gateway of the same cluster, seen by the data plane as an upstream: a lease whose worker
 * is a {@code PeerGateway} sends its request there as a signed hop instead of to a local worker.
 * Keep-alive connections to it are pooled like worker connections, under {@link #id()}.
 *
 * <p>It is never spawned or stopped by a pool: {@link #stop()} does nothing, and {@link #onExit()}
 * completes only when its owner calls {@link #gone()} (the peer left the cluster), which closes the
 * pooled connections to it.
 */
public final class PeerGateway implements Worker {

  private final String node;
  private final URI address;
  private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();

  /**
   * @param node the peer's node name, e.g. {@code gw-2}
   * @param address where the peer's gateway listens, e.g. {@code http://10.0.0.7:8080}
   */
  public PeerGateway(String node, URI address) {
    this.node = Objects.requireNonNull(node, "node");
    this.address = Objects.requireNonNull(address, "address");
  }

  /** The peer's node name. */
  public String node() {
    return node;
  }

  /** {@code peer:<node>}. */
  @Override
  public String id() {
    return "peer:" + node;
  }

  @Override
  public URI address() {
    return address;
  }

  @Override
  public OptionalLong pid() {
    return OptionalLong.empty();
  }

  @Override
  public CompletableFuture<Boolean> checkHealth(Duration timeout) {
    return CompletableFuture.completedFuture(!exit.isDone());
  }

  @Override
  public CompletableFuture<WorkerExit> onExit() {
    return exit;
  }

  /** Does nothing: a peer gateway is not this gateway's to stop. */
  @Override
  public CompletableFuture<WorkerExit> stop() {
    return exit;
  }

  /** The peer left the cluster: completes {@link #onExit()}. Idempotent. */
  public void gone() {
    exit.complete(WorkerExit.stopped(0));
  }

  @Override
  public String toString() {
    return id() + "@" + address;
  }
}
