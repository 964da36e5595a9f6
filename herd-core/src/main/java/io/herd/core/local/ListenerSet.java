package io.herd.core.local;

import io.herd.core.PoolListener;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's registered listeners. Thread-safe; iteration never blocks registration. A listener
 * that throws is logged and does not stop the others, nor the pool.
 */
final class ListenerSet {

  private static final Logger log = LoggerFactory.getLogger(ListenerSet.class);

  private final CopyOnWriteArrayList<PoolListener> listeners = new CopyOnWriteArrayList<>();

  void add(PoolListener listener) {
    listeners.add(java.util.Objects.requireNonNull(listener, "listener"));
  }

  void remove(PoolListener listener) {
    listeners.remove(listener);
  }

  void emit(Consumer<PoolListener> event) {
    for (PoolListener l : listeners) {
      try {
        event.accept(l);
      } catch (RuntimeException | Error e) {
        log.warn("pool listener {} threw; ignored", l, e);
      }
    }
  }
}
