package io.herd.core;

import java.net.URI;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A snapshot of one live worker, for admin APIs and tests.
 *
 * @param id the worker id
 * @param pid its process id, when it is a process
 * @param address where it listens
 * @param state {@code IDLE} or {@code BUSY}
 * @param sessionKey the session it serves, when busy
 * @param sessionsServed how many sessions it has served so far
 */
public record WorkerInfo(
    String id,
    OptionalLong pid,
    URI address,
    State state,
    Optional<String> sessionKey,
    int sessionsServed) {

  /** What a live worker is doing. */
  public enum State {
    IDLE,
    BUSY
  }
}
