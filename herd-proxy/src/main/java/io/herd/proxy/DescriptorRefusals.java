package io.herd.proxy;

/**
 * How many connections a gateway refused because it had no file descriptor left for them, since
 * it started: the process reached its open-files limit ({@code ulimit -n}, systemd's {@code
 * LimitNOFILE}) or the system its own. Each refused client got a 503 with {@code Retry-After} (or,
 * under TLS, a plain close) instead of waiting unanswered. Immutable.
 *
 * @param newClients client connections accepted on a spare descriptor only to be answered 503 and
 *     closed, because the gateway could not have served them
 * @param workerConnections requests (tunnels included) answered 503 because no descriptor was
 *     left for the connection to their worker or peer gateway
 */
public record DescriptorRefusals(long newClients, long workerConnections) {

  /** Both together. */
  public long total() {
    return newClients + workerConnections;
  }
}
