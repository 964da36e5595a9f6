package io.herd.core;

import java.time.Duration;

/**
 * One use of a session's worker: a proxied request, a stream, an open WebSocket. While any lease of
 * a session is open the session is in use and never expires.
 *
 * <p>Closing a lease ends that use, not the session: the session stays pinned to its worker until
 * it expires or is {@linkplain SessionPool#end ended}. {@link #close()} is idempotent and
 * thread-safe; a lease must be closed exactly as often as it was acquired, i.e. once.
 */
public interface SessionLease extends AutoCloseable {

  /** The session key this lease is for. */
  String key();

  /** The session's worker; the same object for every lease of the session. */
  Worker worker();

  /**
   * How long this acquire waited for a worker to be assigned or spawned: {@link Duration#ZERO}
   * for a pinned session. A gateway reports it as {@code X-Herd-Cold-Start}.
   */
  Duration waited();

  /** Whether this acquire started the session (it was not pinned before). */
  boolean newSession();

  @Override
  void close();
}
