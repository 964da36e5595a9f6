package io.herd.server.config;

import io.herd.server.logging.AccessLogFormat;
import java.util.Objects;

/**
 * The {@code logging:} section. Immutable. (The format and level of Herd's own log lines are
 * command-line options, {@code --log-format} and {@code --log-level}, since they apply before the
 * file is read.)
 *
 * @param access the access log's format, or {@link AccessLogFormat#OFF}
 */
public record LoggingConfig(AccessLogFormat access) {

  /** The defaults: a text access log. */
  public static final LoggingConfig DEFAULT = new LoggingConfig(AccessLogFormat.TEXT);

  public LoggingConfig {
    Objects.requireNonNull(access, "access");
  }

  /** Binds {@code logging:}; reports an unknown value with its line. */
  static LoggingConfig bind(SectionReader r) {
    AccessLogFormat access = DEFAULT.access();
    String text = r.string("access").orElse(null);
    if (text != null) {
      access = AccessLogFormat.parse(text).orElse(null);
      if (access == null) {
        r.error("access", "logging.access is unknown: " + text
            + " (expected: text, json or off)");
        access = DEFAULT.access();
      }
    }
    r.finish();
    return new LoggingConfig(access);
  }
}
