package io.herd.server.reload;

import java.util.List;
import java.util.Objects;

/**
 * What one reload did: the changes taken, those that wait for a restart, or why the file was
 * rejected. Immutable.
 *
 * @param status what happened
 * @param source the file that was read
 * @param applied the changes now in force
 * @param restartRequired the changes that were not applied: their keys keep the value in force
 * @param problems why the file was rejected, as {@code herd validate} prints them ({@code
 *     file:line: message}), or the error that stopped the reload part-way
 */
public record ReloadOutcome(Status status, String source, List<ConfigChange> applied,
    List<ConfigChange> restartRequired, List<String> problems) {

  /** How a reload ended. */
  public enum Status {
    /** The file differs from the configuration in force: what could be applied was. */
    APPLIED,
    /** The file equals the configuration in force: "no changes". */
    UNCHANGED,
    /** The file is invalid: nothing changed. */
    REJECTED,
    /** Applying failed part-way (a bug, or the gateway is stopping); see the problems. */
    FAILED
  }

  public ReloadOutcome {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(source, "source");
    applied = List.copyOf(applied);
    restartRequired = List.copyOf(restartRequired);
    problems = List.copyOf(problems);
  }
}
