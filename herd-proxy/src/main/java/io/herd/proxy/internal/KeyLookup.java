package io.herd.proxy.internal;

/**
 * What a request says about its session key: exactly one key (duplicates of the same value
 * count as one), none, two different ones, or one that cannot be read (a broken escape, a rule
 * that failed). Immutable.
 *
 * @param outcome which of these
 * @param key the decoded key when {@code outcome} is FOUND, else null
 * @param detail for the client, when the outcome is CONFLICT or INVALID
 */
public record KeyLookup(Outcome outcome, String key, String detail) {

  /** The kinds of answer. */
  public enum Outcome {
    FOUND,
    MISSING,
    CONFLICT,
    INVALID
  }

  private static final KeyLookup MISSING = new KeyLookup(Outcome.MISSING, null, null);

  public static KeyLookup found(String key) {
    return new KeyLookup(Outcome.FOUND, key, null);
  }

  public static KeyLookup missing() {
    return MISSING;
  }

  public static KeyLookup conflict(String detail) {
    return new KeyLookup(Outcome.CONFLICT, null, detail);
  }

  public static KeyLookup invalid(String detail) {
    return new KeyLookup(Outcome.INVALID, null, detail);
  }
}
