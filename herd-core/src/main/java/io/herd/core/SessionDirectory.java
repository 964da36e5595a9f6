package io.herd.core;

import java.util.Optional;

/**
 * Where a gateway records which worker serves which session key. The pool keeps its own in-memory
 * view for the hot path and writes through this directory only when a session starts or ends, so a
 * shared implementation (several gateways on etcd) can tell every gateway where a session lives.
 *
 * <p>Implementations must be thread-safe. The default is {@link InMemorySessionDirectory}.
 */
public interface SessionDirectory {

  /**
   * Records {@code binding} unless the key is already bound.
   *
   * @return the binding that was already there, or empty when {@code binding} was recorded
   */
  Optional<SessionBinding> bind(SessionBinding binding);

  /** The binding for {@code key}, if any. */
  Optional<SessionBinding> lookup(String key);

  /** Removes {@code binding} if it is still the key's binding; returns whether it was. */
  boolean unbind(SessionBinding binding);

  /** Number of bound keys. */
  int size();
}
