package io.herd.server.config;

import io.herd.server.logging.AccessLogFormat;
import io.herd.server.logging.LogLevels;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code logging:} section: the access log and the level of Herd's own loggers, both of which
 * a reload applies while the gateway runs. Immutable. (The format of Herd's own log lines is the
 * command-line option {@code --log-format}, since it applies before the file is read; {@code
 * --log-level}, when given, wins over {@code logging.level}.)
 *
 * @param access the access log's format, or {@link AccessLogFormat#OFF}
 * @param level the level of Herd's loggers, lower case, when set
 */
public record LoggingConfig(AccessLogFormat access, Optional<String> level) {

  /** The defaults: a text access log, the level left to {@code --log-level} (default info). */
  public static final LoggingConfig DEFAULT =
      new LoggingConfig(AccessLogFormat.TEXT, Optional.empty());

  public LoggingConfig {
    Objects.requireNonNull(access, "access");
    Objects.requireNonNull(level, "level");
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
    Optional<String> level = r.string("level").map(s -> s.trim().toLowerCase(Locale.ROOT));
    if (level.isPresent() && !LogLevels.NAMES.contains(level.get())) {
      r.error("level", "logging.level is invalid: " + level.get() + " (expected: one of "
          + String.join(", ", LogLevels.NAMES) + ")");
      level = Optional.empty();
    }
    r.finish();
    return new LoggingConfig(access, level);
  }
}
