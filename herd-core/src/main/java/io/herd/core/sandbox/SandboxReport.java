package io.herd.core.sandbox;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Which protections a factory's workers actually get, for {@code herd validate} and the startup
 * log: each one enforced (and how), off (not configured) or unavailable (and what to do about
 * it), followed by what is consequently not protected, in plain words. Immutable and thread-safe.
 *
 * @param protections one entry per protection, in a fixed order
 * @param gaps what a worker can do because some protection is not in force; may be empty
 */
public record SandboxReport(List<Protection> protections, List<String> gaps) {

  /** Whether a protection is in force. */
  public enum State {
    /** Configured and applied to every worker. */
    ENFORCED,
    /** Not configured. */
    OFF,
    /** Configured, but this host cannot apply it. */
    UNAVAILABLE
  }

  /**
   * One protection.
   *
   * @param key the configuration key, e.g. {@code sandbox.memory}
   * @param name what it protects against, e.g. {@code memory limit}
   * @param state whether it is in force
   * @param detail how it is enforced (ENFORCED), or what is missing and how to enable it
   *     (UNAVAILABLE); empty when OFF
   */
  public record Protection(String key, String name, State state, String detail) {}

  public SandboxReport {
    protections = List.copyOf(protections);
    gaps = List.copyOf(gaps);
  }

  /** The protections that were asked for but cannot be applied. */
  public List<Protection> unavailable() {
    return protections.stream().filter(p -> p.state() == State.UNAVAILABLE).toList();
  }

  /** Whether {@code key} is enforced. */
  public boolean enforced(String key) {
    return protections.stream().anyMatch(p -> p.key().equals(key) && p.state() == State.ENFORCED);
  }

  /**
   * One line per protection, e.g. {@code memory limit (sandbox.memory): ENFORCED, ...}, then,
   * when there are gaps, a line {@code not in force:} and one {@code - ...} line per gap.
   */
  public String describe() {
    String lines = protections.stream()
        .map(p -> p.name() + " (" + p.key() + "): " + p.state()
            + (p.detail().isEmpty() ? "" : ", " + p.detail()))
        .collect(Collectors.joining("\n"));
    if (gaps.isEmpty()) {
      return lines;
    }
    return lines + "\nnot in force:" + gaps.stream().map(g -> "\n  - " + g)
        .collect(Collectors.joining());
  }

  @Override
  public String toString() {
    return describe();
  }
}
