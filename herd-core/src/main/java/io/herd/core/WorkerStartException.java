package io.herd.core;

/**
 * A worker could not be started or never became healthy. The message says which command, what
 * happened (exit code, last lines of stderr, the last health probe) and what to check.
 */
public class WorkerStartException extends HerdException {

  public WorkerStartException(String message) {
    super(message);
  }

  public WorkerStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
