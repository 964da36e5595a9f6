package io.herd.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import org.slf4j.event.KeyValuePair;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Formats each log event as one JSON object on one line: {@code time}, {@code level}, {@code
 * logger}, {@code thread}, {@code message}, and {@code error} with the stack trace when there is
 * one. A worker's output line ({@code io.herd.worker.stdout/stderr}, message {@code [w-3] text})
 * gets {@code worker} and {@code stream} fields and its bare text as message, so a log shipper
 * can filter by worker without parsing. Key-values of the SLF4J fluent API ({@code
 * log.atInfo().addKeyValue("session", key)}) become top-level fields too ({@code session}, {@code
 * worker}, {@code pid}), numbers as numbers; one named like a fixed field is left out.
 *
 * <p>Thread-safe: stateless apart from logback's start flag.
 */
public final class JsonLineLayout extends LayoutBase<ILoggingEvent> {

  private static final String WORKER_LOGGER = "io.herd.worker.";
  /** The fields every line has: a key-value of one of these names is left out. */
  private static final Set<String> RESERVED =
      Set.of("time", "level", "logger", "thread", "message", "error", "stream");
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
    List<KeyValuePair> pairs = event.getKeyValuePairs();
    if (pairs != null) {
      for (KeyValuePair kv : pairs) {
        if (kv.key == null || RESERVED.contains(kv.key)) {
          continue; // never two fields of one name; the message still says it
        }
        value(json, kv.key, kv.value);
      }
    }
    IThrowableProxy error = event.getThrowableProxy();
    if (error != null) {
      field(json, "error", ThrowableProxyUtil.asString(error));
    }
    return json.append("}\n").toString();
  }

  /** A key-value's field: numbers and booleans as such, everything else as a string. */
  private static void value(StringBuilder json, String name, Object value) {
    if (value instanceof Number || value instanceof Boolean) {
      json.append(",\"");
      JsonStringEncoder.getInstance().quoteAsString(name, json);
      json.append("\":").append(value);
    } else {
      json.append(",\"");
      JsonStringEncoder.getInstance().quoteAsString(name, json);
      json.append("\":");
      if (value == null) {
        json.append("null");
      } else {
        json.append('"');
        JsonStringEncoder.getInstance().quoteAsString(String.valueOf(value), json);
        json.append('"');
      }
    }
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append(",\"").append(name).append("\":\"");
    JsonStringEncoder.getInstance().quoteAsString(value == null ? "" : value, json);
    json.append('"');
  }
}
