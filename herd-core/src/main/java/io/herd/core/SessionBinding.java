package io.herd.core;

import java.net.URI;
import java.util.Objects;

/**
 * One entry of a {@link SessionDirectory}: session {@code key} is served by worker {@code workerId}
 * at {@code address}, owned by gateway {@code owner}.
 */
public record SessionBinding(String key, String workerId, URI address, String owner) {

  public SessionBinding {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(owner, "owner");
  }
}
