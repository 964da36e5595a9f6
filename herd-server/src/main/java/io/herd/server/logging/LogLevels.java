package io.herd.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * The level of Herd's own loggers ({@code herd.*} and {@code io.herd.*}; libraries stay at WARN),
 * read and changed while the gateway runs, for {@code logging.level} and a reload. Does nothing under
 * an SLF4J backend other than logback (an embedding application's). Stateless; logback's levels
 * are thread-safe.
 */
public final class LogLevels {

  /** The levels {@code logging.level} and {@code --log-level} accept, most verbose last. */
  public static final List<String> NAMES = List.of("error", "warn", "info", "debug", "trace");

  private static final List<String> LOGGERS = List.of("herd", "io.herd");

  private LogLevels() {}

  /** The level in force, lower case; empty under another backend or when none was set. */
  public static Optional<String> current() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return Optional.empty();
    }
    Level level = context.getLogger(LOGGERS.get(1)).getLevel();
    return Optional.ofNullable(level).map(l -> l.toString().toLowerCase(Locale.ROOT));
  }

  /** Sets Herd's loggers to {@code name}, one of {@link #NAMES}. */
  public static void set(String name) {
    if (!NAMES.contains(name)) {
      throw new IllegalArgumentException("logging.level is invalid: " + name + " (expected: one of "
          + String.join(", ", NAMES) + ")");
    }
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      Level level = Level.toLevel(name);
      LOGGERS.forEach(logger -> context.getLogger(logger).setLevel(level));
    }
  }
}
