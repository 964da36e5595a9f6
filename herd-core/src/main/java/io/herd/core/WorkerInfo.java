package io.herd.core;

import java.net.URI;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A snapshot of one worker that has started and not exited, for admin APIs and tests.
 *
 * @param id the worker id
 * @param pid its process id, when it is a process
 * @param address where it listens
 * @param state what it is doing
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

  /** What a worker is doing. */
  public enum State {
    /** Ready, serving no session. */
    IDLE,
    /** Serving the session {@link #sessionKey()}. */
    BUSY,
    /** Freed by its session, being health-checked before it serves another ({@code reuse}). */
    CHECKING,
    /** Asked to stop and not exited yet; still counted against {@code max}. */
    STOPPING
  }
}
