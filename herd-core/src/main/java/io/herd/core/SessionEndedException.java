package io.herd.core;

/**
 * The session an acquire was waiting on ended before a worker was assigned to it: ended through
 * {@link SessionPool#end(String)} (an operator's {@code DELETE /sessions/{key}}), or because the
 * worker it was about to get died. The request itself was fine; acquiring the key again starts a
 * new session.
 */
public class SessionEndedException extends HerdException {

  public SessionEndedException(String message) {
    super(message);
  }
}
