package io.herd.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Formats each log event as one JSON object on one line: {@code time}, {@code level}, {@code
 * logger}, {@code thread}, {@code message}, and {@code error} with the stack trace when there is
 * one. A worker's output line ({@code io.herd.worker.stdout/stderr}, message {@code [w-3] text})
 * gets {@code worker} and {@code stream} fields and its bare text as message, so a log shipper
 * can filter by worker without parsing.
 *
 * <p>Thread-safe: stateless apart from logback's start flag.
 */
public final class JsonLineLayout extends LayoutBase<ILoggingEvent> {

  private static final String WORKER_LOGGER = "io.herd.worker.";
  private static final Pattern WORKER_LINE = Pattern.compile("\\[([^\\]]+)\\] (.*)", Pattern.DOTALL);

  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder json = new StringBuilder(256);
    json.append("{\"time\":\"").append(Instant.ofEpochMilli(event.getTimeStamp())).append('"');
    field(json, "level", event.getLevel().toString());
    field(json, "logger", event.getLoggerName());
    field(json, "thread", event.getThreadName());
    String message = event.getFormattedMessage();
    if (event.getLoggerName().startsWith(WORKER_LOGGER)) {
      Matcher m = WORKER_LINE.matcher(message);
      if (m.matches()) {
        field(json, "worker", m.group(1));
        field(json, "stream", event.getLoggerName().substring(WORKER_LOGGER.length()));
        message = m.group(2);
      }
    }
    field(json, "message", message);
    IThrowableProxy error = event.getThrowableProxy();
    if (error != null) {
      field(json, "error", ThrowableProxyUtil.asString(error));
    }
    return json.append("}\n").toString();
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append(",\"").append(name).append("\":\"");
    JsonStringEncoder.getInstance().quoteAsString(value == null ? "" : value, json);
    json.append('"');
  }
}
