package io.herd.proxy;

import io.herd.core.HerdException;
import java.time.Duration;
import java.util.Objects;

/**
 * A {@link SessionRouter} cannot place the session now, e.g. the shared session directory is
 * unreachable or this gateway is fenced. The client gets 503 with {@code Retry-After}.
 */
public final class RouteUnavailableException extends HerdException {

  private final transient Duration retryAfter;

  public RouteUnavailableException(String message, Duration retryAfter) {
    super(message);
    this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
  }

  /** How long the client should wait before retrying. */
  public Duration retryAfter() {
    return retryAfter;
  }
}
