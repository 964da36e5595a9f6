package io.herd.server.runtime;

import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one line per session event (logger {@code herd.pool}): started (with its worker and pid)
 * and ended (with the reason). Worker events (started, stopped, crashed, failed to start) are
 * already logged once by the pool itself at INFO/WARN, so they are not repeated here.
 *
 * <p>Thread-safe and stateless: each call formats and logs one line.
 */
final class LifecycleLog implements PoolListener {

  private static final Logger log = LoggerFactory.getLogger("herd.pool");

  @Override
  public void sessionStarted(String key, Worker worker) {
    log.info("session {} started on worker {}{}", key, worker.id(), pid(worker));
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    log.info("session {} ended on worker {}: {}", key, worker.id(),
        reason.name().toLowerCase(Locale.ROOT));
  }

  private static String pid(Worker worker) {
    return worker.pid().isPresent() ? " (pid " + worker.pid().getAsLong() + ")" : "";
  }
}
