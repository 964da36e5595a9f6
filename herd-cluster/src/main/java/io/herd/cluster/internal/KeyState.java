package io.herd.cluster.internal;

import io.herd.core.SessionBinding;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * This gateway's claim on one session key, while it lasts: the etcd revision of the claim (what a
 * release compares against) and the holds that keep it — acquires in flight plus the bound session.
 *
 * <p>Thread-safe: every field is guarded by this object's lock, held only for the field updates.
 * Lifetime: created when a claim is won; ends {@linkplain #deleting() deleting} when its last hold
 * is released, or {@linkplain #abandon() abandoned} when the gateway fences.
 */
final class KeyState {

  final String key;

  /** The membership epoch the claim was won in; it serves no request of a later epoch. */
  final long epoch;

  // Guarded by this.
  private long revision;
  private int holds;
  private SessionBinding binding;
  private SessionBinding unbound;
  private boolean deleting;
  private boolean abandoned;
  /** The last write this gateway made to the claim (worker record, release), in order. */
  private CompletableFuture<?> writes = CompletableFuture.completedFuture(null);

  /** A claim at {@code revision}, won in {@code epoch}, with one hold: the claimer's own. */
  KeyState(String key, long revision, long epoch) {
    this.key = key;
    this.epoch = epoch;
    this.revision = revision;
    this.holds = 1;
  }

  /** Takes a hold unless the claim is being released or was abandoned. */
  synchronized boolean tryHold() {
    if (deleting || abandoned) {
      return false;
    }
    holds++;
    return true;
  }

  /**
   * Drops a hold. Returns true when that was the last one and the claim must now be deleted in
   * etcd: it is marked deleting under the lock, so no hold can be taken any more.
   */
  synchronized boolean release() {
    holds--;
    if (holds == 0 && !abandoned && !deleting) {
      deleting = true;
      return true;
    }
    return false;
  }

  /**
   * The pool bound a session for this key: it holds the claim until unbound. A bind while an
   * unbound binding still waits for its {@link #ended} moves the same session to a new worker (a
   * suspended session resumed) and keeps the hold it has: the pool reports a session's end right
   * after its unbind, and starts the key's next session only after that report, so that binding
   * can only be the same session's.
   */
  synchronized SessionBinding bind(SessionBinding b) {
    SessionBinding before = binding;
    if (before == null) {
      binding = b;
      if (unbound != null) {
        unbound = null; // a rebind: the session's hold carries over
      } else {
        holds++;
      }
    }
    return before;
  }

  /**
   * The pool unbound {@code b}: whether it was this claim's binding. The session's hold stays until
   * {@link #ended} — until the pool has reported the end to its listeners.
   */
  synchronized boolean unbind(SessionBinding b) {
    if (binding == null || !binding.equals(b)) {
      return false;
    }
    binding = null;
    unbound = b;
    return true;
  }

  /**
   * The pool reported the end of the session on {@code workerId}: whether it was this claim's
   * unbound session, whose hold the caller must now release.
   */
  synchronized boolean ended(String workerId) {
    if (unbound == null || !unbound.workerId().equals(workerId)) {
      return false;
    }
    unbound = null;
    return true;
  }

  synchronized SessionBinding binding() {
    return binding;
  }

  synchronized long revision() {
    return revision;
  }

  /** The claim was written again (a re-put under this gateway's lease). */
  synchronized void revised(long newRevision) {
    revision = newRevision;
  }

  synchronized boolean deleting() {
    return deleting;
  }

  /** Whether requests may be served under this claim. */
  synchronized boolean live() {
    return !deleting && !abandoned;
  }

  /**
   * Runs {@code write} after every write queued before it has finished, so that each reads the
   * revision the previous one left: a release never compares against a revision that a worker
   * record written just before it has already replaced.
   */
  synchronized CompletableFuture<?> afterWrites(Supplier<CompletableFuture<?>> write) {
    writes = writes.handle((r, e) -> null).thenCompose(ignored -> write.get());
    return writes;
  }

  /** Moves the revision to {@code newRevision} if it is still {@code expected}. */
  synchronized void revisedFrom(long expected, long newRevision) {
    if (revision == expected) {
      revision = newRevision;
    }
  }

  /** The gateway fenced: the claim belonged to the abandoned lease. */
  synchronized void abandon() {
    abandoned = true;
  }
}
