package io.herd.server.logging;

/** How {@code herd} writes its log lines: {@code --log-format text|json}. */
public enum LogFormat {
  /** One human-readable line per event. */
  TEXT,
  /** One JSON object per line, for log shippers. */
  JSON
}
