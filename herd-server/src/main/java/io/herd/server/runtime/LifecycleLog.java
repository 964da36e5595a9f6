package io.herd.server.runtime;

import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import io.herd.server.admin.SessionIds;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Logs one line per session event (logger {@code herd.pool}): started (with its worker and pid)
 * and ended (with the reason). The session, worker, pid and reason are also key-values, so JSON
 * lines carry them as fields and text lines end with {@code session=... worker=... pid=...}. Worker events (started, stopped, crashed, failed to start) are
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
    String id = ids.shown(key);
    LoggingEventBuilder line = log.atInfo().addKeyValue("session", id)
        .addKeyValue("worker", worker.id());
    if (worker.pid().isPresent()) {
      line = line.addKeyValue("pid", worker.pid().getAsLong());
    }
    line.log("session {} started on worker {}", id, worker.id());
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    String id = ids.shown(key);
    String why = reason.name().toLowerCase(Locale.ROOT);
    log.atInfo().addKeyValue("session", id).addKeyValue("worker", worker.id())
        .addKeyValue("reason", why)
        .log("session {} ended on worker {}: {}", id, worker.id(), why);
  }
}
