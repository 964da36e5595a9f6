package io.herd.server.logging;

import java.util.Locale;
import java.util.Optional;

/** How the access log is written: {@code logging.access: text|json|off}. */
public enum AccessLogFormat {
  /** Combined Log Format, then {@code key=value} extras: see {@link AccessLogLine#text}. */
  TEXT,
  /** One JSON object per request: see {@link AccessLogLine#json}. */
  JSON,
  /** No access log. */
  OFF;

  /** The format named {@code text} ({@code text}, {@code json}, {@code off}), if any. */
  public static Optional<AccessLogFormat> parse(String text) {
    for (AccessLogFormat f : values()) {
      if (f.name().toLowerCase(Locale.ROOT).equals(text)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
