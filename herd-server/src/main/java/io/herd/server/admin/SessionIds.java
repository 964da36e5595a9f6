package io.herd.server.admin;

import io.herd.proxy.SessionKeySigner;
import java.util.List;
import java.util.Optional;

/**
 * How the control plane names a session: by its <em>id</em>, never by a full signed key. With
 * {@code session.secret} set, a key {@code <id>.<HMAC>} is a credential — whoever holds it can
 * use or end the session — so admin answers, {@code herd status} and the session log lines show
 * only the id part, which cannot be turned back into the key without the secret. Unsigned keys
 * are their own ids and are shown as they are.
 *
 * <p>This is the single place that decides what is shown. It works whether the pool is keyed by
 * the full signed key or by the id alone: a pool key is shortened only when it is a validly
 * signed key, and {@link #poolKeysFor} maps a name given to the admin API back to whichever form
 * the pool holds.
 *
 * <p>Immutable and thread-safe (the signer is).
 */
public final class SessionIds {

  private static final SessionIds UNSIGNED = new SessionIds(null);

  /** Null when keys are not signed. */
  private final SessionKeySigner signer;

  private SessionIds(SessionKeySigner signer) {
    this.signer = signer;
  }

  /** Ids for keys signed by {@code signer}, or for unsigned keys when it is empty. */
  public static SessionIds of(Optional<SessionKeySigner> signer) {
    return signer.map(SessionIds::new).orElse(UNSIGNED);
  }

  /** Ids for unsigned keys: every key is shown as it is. */
  public static SessionIds unsigned() {
    return UNSIGNED;
  }

  /** What answers and logs show for pool key {@code key}: its id. */
  public String shown(String key) {
    if (signer != null && signer.verify(key)) {
      return key.substring(0, key.lastIndexOf('.'));
    }
    return key;
  }

  /**
   * The pool keys that {@code name} (an id, or a full signed key) may stand for, most direct
   * first: at most one of them names a live session, since a signed key and its id are the same
   * session in either pool layout.
   */
  List<String> poolKeysFor(String name) {
    if (signer == null) {
      return List.of(name);
    }
    if (signer.verify(name)) {
      return List.of(name, name.substring(0, name.lastIndexOf('.')));
    }
    return List.of(name, signer.sign(name));
  }
}
