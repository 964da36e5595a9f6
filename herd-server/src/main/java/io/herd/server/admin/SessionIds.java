package io.herd.server.admin;

import io.herd.proxy.SessionKeySigner;
import java.util.List;
import java.util.Optional;

/**
 * How the control plane names a session: by its <em>id</em>, never by a full signed key. With
 * {@code session.secret} set, a key {@code <id>.<HMAC>} (or {@code <id>.<expiry>.<HMAC>}) is a
 * credential — whoever holds it can use or end the session. The gateway keys the pool by the id
 * it verified, so admin answers, {@code herd status} and the session log lines show ids, which
 * cannot be turned back into keys without the secret; unsigned keys are their own ids.
 *
 * <p>This is the single place that decides what is shown, and what a name given to the admin
 * API (an id, or a full signed key pasted by an operator) means.
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

  /**
   * What answers and logs show for pool key {@code key}: the key itself, which is an id — unless
   * it is a signed key (a pool filled by another front end than the gateway), then its id.
   */
  public String shown(String key) {
    return signedId(key).orElse(key);
  }

  /**
   * The pool keys that {@code name} (an id, or a full signed key, valid or expired) may stand
   * for, most likely first: the id of a key this gateway signed (the gateway keys its pool by
   * ids), then {@code name} as written (a pool some other front end filled).
   */
  List<String> poolKeysFor(String name) {
    return signedId(name).filter(id -> !id.equals(name)).map(id -> List.of(id, name))
        .orElse(List.of(name));
  }

  private Optional<String> signedId(String key) {
    if (signer == null) {
      return Optional.empty();
    }
    SessionKeySigner.Verification v = signer.check(key);
    return v.status() == SessionKeySigner.Status.INVALID ? Optional.empty()
        : Optional.of(v.id());
  }
}
