package io.herd.server.config;

import io.herd.server.logging.LogLevels;
import java.util.Locale;
import java.util.Optional;

/**
 * Binds {@code log:}: {@code level}, the level of Herd's own loggers, which a reload applies
 * while the gateway runs ({@code --log-level} wins over it). Stateless.
 */
final class LogSection {

  private LogSection() {}

  /** {@code log.level}, lower case; empty when absent or invalid (reported). */
  static Optional<String> bindLevel(SectionReader r) {
    Optional<String> level = r.string("level").map(s -> s.trim().toLowerCase(Locale.ROOT));
    r.finish();
    if (level.isPresent() && !LogLevels.NAMES.contains(level.get())) {
      r.error("level", "log.level is invalid: " + level.get() + " (expected: one of "
          + String.join(", ", LogLevels.NAMES) + ")");
      return Optional.empty();
    }
    return level;
  }
}
