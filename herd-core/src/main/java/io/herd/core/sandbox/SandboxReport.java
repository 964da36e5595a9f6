package io.herd.core.sandbox;

import java.util.List;
import java.util.Objects;
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
   * @param value its short form for {@link #summary()}: the limit in human units when enforced
   *     ({@code 512 MiB}, {@code 1.5}, {@code 256}), else {@code on}, {@code off} or {@code
   *     unavailable}
   */
  public record Protection(String key, String name, State state, String detail, String value) {

    public Protection {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(detail, "detail");
      Objects.requireNonNull(value, "value");
    }

    /** A protection whose short form is its state: {@code on}, {@code off}, {@code unavailable}. */
    public Protection(String key, String name, State state, String detail) {
      this(key, name, state, detail, switch (state) {
        case ENFORCED -> "on";
        case OFF -> "off";
        case UNAVAILABLE -> "unavailable";
      });
    }

    /** The key without its {@code sandbox.} prefix: {@code memory}, {@code uid}. */
    String shortKey() {
      return key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    }
  }

  private static final String PREFIX = "sandbox.";

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

  /**
   * Everything on one line, for the startup log: {@code key=value} per protection, then what is
   * unavailable and why, then what is not in force, e.g. {@code memory=512 MiB cpus=1.5 pids=off
   * namespaces=on uid=off network=off; not in force: workers run as ...}. {@link #describe()} is
   * the long form that {@code herd validate} prints.
   */
  public String summary() {
    StringBuilder line = new StringBuilder();
    for (Protection p : protections) {
      if (!line.isEmpty()) {
        line.append(' ');
      }
      line.append(p.shortKey()).append('=').append(p.value());
    }
    List<Protection> unavailable = unavailable();
    if (!unavailable.isEmpty()) {
      line.append("; unavailable: ").append(unavailable.stream()
          .map(p -> p.shortKey() + " (" + p.detail() + ")").collect(Collectors.joining(", ")));
    }
    if (!gaps.isEmpty()) {
      line.append("; not in force: ").append(String.join("; ", gaps));
    }
    return line.toString();
  }

  @Override
  public String toString() {
    return describe();
  }
}
