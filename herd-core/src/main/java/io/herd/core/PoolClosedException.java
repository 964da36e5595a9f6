package io.herd.core;

/** The pool is shutting down or closed and takes no new acquires. */
public class PoolClosedException extends HerdException {

  public PoolClosedException(String message) {
    super(message);
  }
}
