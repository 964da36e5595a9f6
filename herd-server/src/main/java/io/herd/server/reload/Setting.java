package io.herd.server.reload;

import java.util.Objects;

/**
 * One configuration key's value, as compared and as shown: secrets compare by their value but
 * show as {@code ****}. Immutable.
 *
 * @param shown what logs and the admin API may print
 * @param value what is compared; equal values mean no change
 */
record Setting(String shown, Object value) {

  static final String MASK = "****";

  Setting {
    Objects.requireNonNull(shown, "shown");
  }

  /** A value shown as it is. */
  static Setting of(Object value) {
    return new Setting(String.valueOf(value), value);
  }

  /** A secret: compared by {@code value}, shown masked ({@code none} when unset). */
  static Setting secret(Object value) {
    return new Setting(value == null ? "none" : MASK, value);
  }
}
