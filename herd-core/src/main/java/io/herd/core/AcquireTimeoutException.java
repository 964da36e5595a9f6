package io.herd.core;

/**
 * No worker became available for a session within the acquire timeout. The message carries the
 * pool state that explains it: session key, queue depth, busy and starting workers, and the last
 * spawn error when there was one (also the {@linkplain #getCause() cause}).
 */
public class AcquireTimeoutException extends HerdException {

  public AcquireTimeoutException(String message, Throwable lastSpawnError) {
    super(message, lastSpawnError);
  }
}
