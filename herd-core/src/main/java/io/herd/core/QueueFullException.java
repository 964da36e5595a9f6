package io.herd.core;

/**
 * The pool is at {@code max} workers, none is idle, and {@code maxQueue} sessions already wait for
 * one. Callers should shed load (an HTTP gateway answers 503 with {@code Retry-After}).
 */
public class QueueFullException extends HerdException {

  public QueueFullException(String message) {
    super(message);
  }
}
