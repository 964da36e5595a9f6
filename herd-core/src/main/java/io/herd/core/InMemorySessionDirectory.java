package io.herd.core;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** The default {@link SessionDirectory}: a concurrent map private to one gateway. Thread-safe. */
public final class InMemorySessionDirectory implements SessionDirectory {

  private final ConcurrentMap<String, SessionBinding> bindings = new ConcurrentHashMap<>();

  @Override
  public Optional<SessionBinding> bind(SessionBinding binding) {
    return Optional.ofNullable(bindings.putIfAbsent(binding.key(), binding));
  }

  @Override
  public Optional<SessionBinding> lookup(String key) {
    return Optional.ofNullable(bindings.get(key));
  }

  @Override
  public boolean unbind(SessionBinding binding) {
    return bindings.remove(binding.key(), binding);
  }

  @Override
  public int size() {
    return bindings.size();
  }
}
