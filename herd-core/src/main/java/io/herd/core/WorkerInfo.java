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
 * @param draining whether it is being drained ({@link SessionPool#drain}): it takes no new
 *     session and stops once its current one ends
 */
public record WorkerInfo(
    String id,
    OptionalLong pid,
    URI address,
    State state,
    Optional<String> sessionKey,
    int sessionsServed,
    boolean draining) {

  /** A worker that is not being drained. */
  public WorkerInfo(String id, OptionalLong pid, URI address, State state,
      Optional<String> sessionKey, int sessionsServed) {
    this(id, pid, address, state, sessionKey, sessionsServed, false);
  }

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
