package io.herd.server.runtime;

import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import io.herd.server.admin.SessionIds;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one line per session event (logger {@code herd.pool}): started (with its worker and pid)
 * and ended (with the reason). Worker events (started, stopped, crashed, failed to start) are
 * already logged once by the pool itself at INFO/WARN, so they are not repeated here.
 *
 * <p>Sessions are named as {@link SessionIds} decides: a log line never carries a full signed key,
 * which would be a credential in every log shipper and terminal that sees it.
 *
 * <p>Thread-safe and stateless: each call formats and logs one line.
 */
final class LifecycleLog implements PoolListener {

  private static final Logger log = LoggerFactory.getLogger("herd.pool");

  private final SessionIds ids;

  LifecycleLog(SessionIds ids) {
    this.ids = ids;
  }

  @Override
  public void sessionStarted(String key, Worker worker) {
    log.info("session {} started on worker {}{}", ids.shown(key), worker.id(), pid(worker));
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    log.info("session {} ended on worker {}: {}", ids.shown(key), worker.id(),
        reason.name().toLowerCase(Locale.ROOT));
  }

  private static String pid(Worker worker) {
    return worker.pid().isPresent() ? " (pid " + worker.pid().getAsLong() + ")" : "";
  }
}
