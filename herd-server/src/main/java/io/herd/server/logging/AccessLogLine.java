package io.herd.server.logging;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.herd.proxy.AccessLogEntry;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Formats one {@link AccessLogEntry} as one line, in either access log format. Stateless and
 * thread-safe.
 *
 * <p>Text is the Combined Log Format that log tools already parse, followed by Herd's fields as
 * {@code key=value}:
 *
 * <pre>
 * 127.0.0.1 - - [02/Dec/2026:10:15:32 +0000] "GET /counter HTTP/1.1" 200 12 "-" "curl/8.5.0"
 *     session=alice worker=w-1 duration_ms=812.402 cold_start=true cold_start_ms=790
 *     request_bytes=0 outcome=worker
 * </pre>
 *
 * (on one line). {@code -} stands for a missing value; {@code tunnel=true} is added for a
 * WebSocket, whose figures cover the tunnel's whole life. Quoted fields escape {@code "}, {@code
 * \} and control characters as {@code \xHH}, as nginx does.
 *
 * <p>JSON has the same fields, named as in the text and in snake case, with {@code time} in ISO
 * 8601, numbers as numbers and missing values as {@code null}.
 */
public final class AccessLogLine {

  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH)
          .withZone(ZoneOffset.UTC);

  private AccessLogLine() {}

  /** The Combined Log Format line with Herd's {@code key=value} extras; no line end. */
  public static String text(AccessLogEntry e) {
    StringBuilder line = new StringBuilder(192);
    line.append(e.client()).append(" - - [").append(CLF_TIME.format(e.time())).append("] \"");
    quoted(line, e.method());
    line.append(' ');
    quoted(line, e.path());
    line.append(' ');
    quoted(line, e.protocol());
    line.append("\" ").append(e.status()).append(' ').append(e.responseBytes()).append(" \"");
    quoted(line, orDash(e.referer()));
    line.append("\" \"");
    quoted(line, orDash(e.userAgent()));
    line.append('"');
    pair(line, "session", orDash(e.session()));
    pair(line, "worker", orDash(e.worker()));
    pair(line, "duration_ms", millis(e));
    pair(line, "cold_start", Boolean.toString(e.coldStart()));
    if (e.coldStart()) {
      pair(line, "cold_start_ms", Long.toString(e.coldStartMillis()));
    }
    pair(line, "request_bytes", Long.toString(e.requestBytes()));
    pair(line, "outcome", e.outcome());
    if (e.tunnel()) {
      pair(line, "tunnel", "true");
    }
    return line.toString();
  }

  /** One JSON object with every field; no line end. */
  public static String json(AccessLogEntry e) {
    StringBuilder json = new StringBuilder(320);
    json.append("{\"time\":\"").append(e.time()).append('"');
    string(json, "client", e.client());
    string(json, "method", e.method());
    string(json, "path", e.path());
    string(json, "protocol", e.protocol());
    number(json, "status", Long.toString(e.status()));
    number(json, "response_bytes", Long.toString(e.responseBytes()));
    number(json, "request_bytes", Long.toString(e.requestBytes()));
    number(json, "duration_ms", millis(e));
    string(json, "session", e.session());
    string(json, "worker", e.worker());
    number(json, "cold_start", Boolean.toString(e.coldStart()));
    number(json, "cold_start_ms", e.coldStart() ? Long.toString(e.coldStartMillis()) : "null");
    string(json, "outcome", e.outcome());
    number(json, "tunnel", Boolean.toString(e.tunnel()));
    string(json, "user_agent", e.userAgent());
    string(json, "referer", e.referer());
    return json.append('}').toString();
  }

  /** Milliseconds with microsecond precision: {@code 812.402}. */
  private static String millis(AccessLogEntry e) {
    long micros = e.duration().toNanos() / 1000;
    return String.format(Locale.ROOT, "%d.%03d", micros / 1000, micros % 1000);
  }

  private static String orDash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }

  /** A value inside double quotes: {@code "}, {@code \} and controls as {@code \xHH}. */
  private static void quoted(StringBuilder line, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
        line.append(String.format(Locale.ROOT, "\\x%02X", (int) c));
      } else {
        line.append(c);
      }
    }
  }

  /** {@code " key=value"}; the value's spaces, quotes and controls escaped as {@code \xHH}. */
  private static void pair(StringBuilder line, String key, String value) {
    line.append(' ').append(key).append('=');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == ' ' || c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
        line.append(String.format(Locale.ROOT, "\\x%02X", (int) c));
      } else {
        line.append(c);
      }
    }
  }

  private static void string(StringBuilder json, String name, String value) {
    json.append(",\"").append(name).append("\":");
    if (value == null) {
      json.append("null");
      return;
    }
    json.append('"');
    JsonStringEncoder.getInstance().quoteAsString(value, json);
    json.append('"');
  }

  private static void number(StringBuilder json, String name, String literal) {
    json.append(",\"").append(name).append("\":").append(literal);
  }
}
