package io.herd.server.reload;

import java.util.Objects;

/**
 * One key whose value in the file differs from the value in force. Immutable.
 *
 * @param key the YAML key, e.g. {@code pool.max} or {@code worker.env.GREETING}
 * @param before the value in force, secrets masked
 * @param after the file's value, secrets masked
 * @param live whether the running gateway takes it; if not, the value in force stays until a
 *     restart
 * @param note why it needs a restart, or when it takes effect; empty when nothing needs saying
 */
public record ConfigChange(String key, String before, String after, boolean live, String note) {

  public ConfigChange {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(before, "before");
    Objects.requireNonNull(after, "after");
    Objects.requireNonNull(note, "note");
  }

  /** {@code pool.max: 4 → 8}, with the note in parentheses when there is one. */
  @Override
  public String toString() {
    return key + ": " + before + " \u2192 " + after + (note.isEmpty() ? "" : " (" + note + ")");
  }
}
