package io.herd.server.logging;

import io.herd.proxy.AccessLogEntry;
import io.herd.proxy.AccessLogListener;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the access log: one line per request, formatted by {@link AccessLogLine}, to the logger
 * {@value #LOGGER} at INFO. The line is the whole message, so a logging setup can route that
 * logger anywhere; {@code herd serve} sends it to standard output through an asynchronous
 * appender ({@link LogSetup#configureAccessLog}), so that the event loop that calls this never
 * waits for a terminal or a pipe.
 *
 * <p>Thread-safe and stateless: called on the gateway's event loops.
 */
public final class AccessLogWriter implements AccessLogListener {

  /** The access log's logger name. */
  public static final String LOGGER = "herd.access";

  private static final Logger log = LoggerFactory.getLogger(LOGGER);

  private final AccessLogFormat format;

  /** A writer of {@code format}, which must not be {@link AccessLogFormat#OFF}. */
  public AccessLogWriter(AccessLogFormat format) {
    Objects.requireNonNull(format, "format");
    if (format == AccessLogFormat.OFF) {
      throw new IllegalArgumentException("an access log writer needs a format: off");
    }
    this.format = format;
  }

  @Override
  public void requestCompleted(AccessLogEntry entry) {
    if (log.isInfoEnabled()) {
      log.info(format == AccessLogFormat.JSON ? AccessLogLine.json(entry)
          : AccessLogLine.text(entry));
    }
  }

  @Override
  public String toString() {
    return "AccessLogWriter{" + format + "}";
  }
}
