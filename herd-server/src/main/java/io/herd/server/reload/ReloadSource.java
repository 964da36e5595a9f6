package io.herd.server.reload;

import io.herd.server.config.HerdConfig;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Where a reload reads the configuration again: the file with the command line's overrides, the
 * same way {@code herd serve} read it at start. Immutable.
 *
 * @param reader reads and validates the file, throwing {@link
 *     io.herd.server.config.InvalidConfigFileException} with every problem
 * @param logLevelPinned whether {@code --log-level} was given, which wins over {@code logging.level}
 */
public record ReloadSource(Supplier<HerdConfig> reader, boolean logLevelPinned) {

  public ReloadSource {
    Objects.requireNonNull(reader, "reader");
  }
}
