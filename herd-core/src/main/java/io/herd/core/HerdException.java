package io.herd.core;

/** Base of every exception Herd throws on purpose: catch it to handle them all. */
public class HerdException extends RuntimeException {

  public HerdException(String message) {
    super(message);
  }

  public HerdException(String message, Throwable cause) {
    super(message, cause);
  }
}
