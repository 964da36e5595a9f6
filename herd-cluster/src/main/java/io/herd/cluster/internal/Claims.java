package io.herd.cluster.internal;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.herd.proxy.RouteUnavailableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session claims of this gateway: winning them in etcd, holding them while a local session or
 * acquire needs them, and releasing them.
 *
 * <h2>Design</h2>
 *
 * <p><b>Invariant: whenever a local session of key K lives (or an acquire for K is in flight), etcd
 * holds a claim on K for this node, under this gateway's current lease, at the revision recorded in
 * K's {@link KeyState}.</b> Everything below keeps it.
 *
 * <ul>
 *   <li><b>Claim</b> (one in flight per key, shared by concurrent requests): one transaction,
 *       {@code if create_revision(K) == 0 then put K {node: target} with target's lease else get
 *       K}. So exactly one gateway wins a race. The target is this node, or — when this pool is
 *       full and the request came straight from a client — the peer with most room, on that peer's
 *       lease (if that lease is gone, this node claims for itself instead).
 *   <li><b>Found owned by this node without a local claim</b> (a peer placed it here, or a stale
 *       claim of an earlier lease): {@code if mod_revision(K) == seen then put K under our lease},
 *       so the revision and the lease are ours before anything is served.
 *   <li><b>Holds</b> = acquires in flight + the session. The router takes a hold before it calls
 *       {@code pool.acquire} and drops it when that completes; the directory's {@code bind} adds
 *       one, dropped once the pool has reported the session's end to its listeners (after {@code
 *       unbind}), so that the end is known locally before the key can be claimed elsewhere.
 *   <li><b>Release</b>: the last hold marks the KeyState deleting <em>under its lock</em>, so no
 *       hold can be taken after that, then {@code if mod_revision(K) == ours then delete K}; the
 *       KeyState leaves the map when that answers. A request that finds K deleting claims anew: a
 *       re-put bumps the revision, so the racing delete fails its compare, and a delete that won
 *       first leaves K free to create. Either way no local session ever runs unclaimed.
 *   <li><b>Epochs</b>: a KeyState serves only requests of the membership epoch it was won in; a
 *       fence abandons them all (the lease they hang on is being given up).
 *   <li><b>Stragglers</b>: a claim for this node that no KeyState knows (a delete that failed while
 *       etcd was down, a claim whose answer timed out but which etcd applied) is deleted by {@link
 *       #sweep()} when it is seen twice in a row, guarded by its revision.
 * </ul>
 *
 * <p>Thread-safe: the map is concurrent, each KeyState has its own lock, and no lock is held across
 * an etcd call. Lifetime: that of the cluster member.
 */
final class Claims {

  /** How a claim came out. */
  sealed interface Outcome permits Mine, Theirs {}

  /** This node holds the claim; the outcome carries one hold, released when the claim settles. */
  record Mine(KeyState state) implements Outcome {}

  /** Another node owns the key. */
  record Theirs(String node) implements Outcome {}

  private static final Logger log = LoggerFactory.getLogger(Claims.class);
  private static final int MAX_TRIES = 5;
  static final Duration RETRY_SOON = Duration.ofSeconds(1);

  private final String self;
  private final KeyLayout layout;
  private final Etcd etcd;
  private final Membership membership;
  private final ClusterView view;
  private final Counters counters;
  private final IntSupplier localFree;

  private final ConcurrentHashMap<String, KeyState> states = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<Outcome>> inflight =
      new ConcurrentHashMap<>();
  // Only the sweeper thread (the cluster timer) touches it.
  private Map<String, Long> suspects = new HashMap<>();

  Claims(
      String self,
      KeyLayout layout,
      Etcd etcd,
      Membership membership,
      ClusterView view,
      Counters counters,
      IntSupplier localFree) {
    this.self = self;
    this.layout = layout;
    this.etcd = etcd;
    this.membership = membership;
    this.view = view;
    this.counters = counters;
    this.localFree = localFree;
  }

  /** A hold on {@code key}'s local claim of {@code epoch}, or null when there is none to take. */
  KeyState hold(String key, long epoch) {
    KeyState ks = states.get(key);
    return ks != null && ks.epoch == epoch && ks.tryHold() ? ks : null;
  }

  /** The live local claim on {@code key}, if any (no hold taken). */
  KeyState live(String key) {
    KeyState ks = states.get(key);
    return ks != null && ks.live() ? ks : null;
  }

  /** The local claim on {@code key} in whatever state, if any (no hold taken). */
  KeyState find(String key) {
    return states.get(key);
  }

  /** Drops a hold; the last one releases the claim in etcd. */
  void release(KeyState ks) {
    if (ks.release()) {
      delete(ks);
    }
  }

  /** Keys with a local claim, live or being released. */
  int size() {
    return states.size();
  }

  /**
   * Claims {@code key} (or finds who owns it), sharing one claim among concurrent callers.
   *
   * @param forwarded the request came from a peer: claim for this node, never place elsewhere
   * @param m the membership as the request found it: its lease and epoch
   */
  CompletableFuture<Outcome> claim(String key, boolean forwarded, Membership.Snapshot m) {
    CompletableFuture<Outcome> promise = new CompletableFuture<>();
    CompletableFuture<Outcome> existing = inflight.putIfAbsent(key, promise);
    if (existing != null) {
      return existing;
    }
    CompletableFuture<Outcome> work;
    KeyState already = hold(key, m.epoch());
    if (already != null) {
      // Won by a claim that finished between the caller's look-up and this one.
      work = CompletableFuture.completedFuture(new Mine(already));
    } else {
      work = attempt(key, target(forwarded), m, 0);
    }
    work.whenComplete(
        (outcome, err) -> {
          // Complete first: the callers take their own holds synchronously in their dependents,
          // before the claimer's hold is dropped below (which could otherwise release the claim).
          if (err != null) {
            promise.completeExceptionally(Etcd.unwrap(err));
          } else {
            promise.complete(outcome);
          }
          inflight.remove(key, promise);
          if (outcome instanceof Mine mine) {
            release(mine.state());
          }
        });
    return promise;
  }

  /** Abandons every claim (the gateway fenced); returns their keys. */
  List<String> abandonAll() {
    List<String> keys = new ArrayList<>();
    for (KeyState ks : states.values()) {
      if (states.remove(ks.key, ks)) {
        ks.abandon();
        keys.add(ks.key);
      }
    }
    return keys;
  }

  /**
   * Deletes claims for this node that no KeyState knows, once seen twice in a row at the same
   * revision. Run periodically on one thread, while connected.
   */
  void sweep() {
    Map<String, Long> next = new HashMap<>();
    view.claims()
        .forEach(
            (key, claim) -> {
              if (!claim.node().equals(self)
                  || states.containsKey(key)
                  || inflight.containsKey(key)) {
                return;
              }
              Long seen = suspects.get(key);
              if (seen != null && seen == claim.modRevision()) {
                log.debug("deleting claim on {} that no local session holds", key);
                deleteIfRevision(key, claim.modRevision());
              } else {
                next.put(key, claim.modRevision());
              }
            });
    suspects = next;
  }

  // ---------------------------------------------------------------- claiming

  private String target(boolean forwarded) {
    if (forwarded || localFree.getAsInt() > 0) {
      return self;
    }
    return view.roomiestPeer().map(NodeRecord::node).orElse(self);
  }

  private CompletableFuture<Outcome> attempt(
      String key, String target, Membership.Snapshot m, int tries) {
    if (tries >= MAX_TRIES) {
      return CompletableFuture.failedFuture(
          new RouteUnavailableException(
              "session '" + key + "' is changing hands too fast to claim; retry", RETRY_SOON));
    }
    long lease =
        target.equals(self) ? m.lease() : view.node(target).map(NodeRecord::lease).orElse(0L);
    if (lease == 0) {
      return attempt(key, self, m, tries + 1);
    }
    ByteSequence k = layout.session(key);
    var txn =
        etcd.txn()
            .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
            .Then(Op.put(k, new ClaimRecord(target).encode(), leased(lease)))
            .Else(Op.get(k, GetOption.DEFAULT));
    return etcd.commit(txn)
        .handle(
            (response, err) -> {
              if (err != null) {
                if (!target.equals(self) && Etcd.isLeaseNotFound(err)) {
                  return attempt(key, self, m, tries + 1); // the peer's lease just expired
                }
                return CompletableFuture.<Outcome>failedFuture(unreachable(err));
              }
              if (response.isSucceeded()) {
                counters.claims.increment();
                long revision = response.getHeader().getRevision();
                return CompletableFuture.completedFuture(
                    target.equals(self) ? install(key, revision, m) : new Theirs(target));
              }
              return found(key, response, m, tries);
            })
        .thenCompose(f -> f);
  }

  /** The claim existed: whose is it? */
  private CompletableFuture<Outcome> found(
      String key, TxnResponse response, Membership.Snapshot m, int tries) {
    List<KeyValue> kvs = response.getGetResponses().get(0).getKvs();
    if (kvs.isEmpty()) {
      return attempt(key, self, m, tries + 1);
    }
    KeyValue kv = kvs.get(0);
    String owner = ClaimRecord.decode(kv.getValue()).map(ClaimRecord::node).orElse("");
    if (owner.equals(self)) {
      return takeOver(key, kv.getModRevision(), m, tries);
    }
    counters.claimConflicts.increment();
    return CompletableFuture.completedFuture(new Theirs(owner));
  }

  /** Rewrites a claim that names this node under this gateway's current lease. */
  private CompletableFuture<Outcome> takeOver(
      String key, long seenRevision, Membership.Snapshot m, int tries) {
    ByteSequence k = layout.session(key);
    var txn =
        etcd.txn()
            .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(seenRevision)))
            .Then(Op.put(k, new ClaimRecord(self).encode(), leased(m.lease())))
            .Else(Op.get(k, GetOption.DEFAULT));
    return etcd.commit(txn)
        .handle(
            (response, err) -> {
              if (err != null) {
                return CompletableFuture.<Outcome>failedFuture(unreachable(err));
              }
              if (response.isSucceeded()) {
                return CompletableFuture.<Outcome>completedFuture(
                    install(key, response.getHeader().getRevision(), m));
              }
              return attempt(key, self, m, tries + 1);
            })
        .thenCompose(f -> f);
  }

  /** Records a claim won for this node; the outcome carries the claimer's hold. */
  private Outcome install(String key, long revision, Membership.Snapshot m) {
    if (membership.epoch() != m.epoch()) {
      throw new RouteUnavailableException(
          "this gateway fenced itself while claiming session '" + key + "'; retry", RETRY_SOON);
    }
    view.takeLost(key)
        .ifPresent(
            node -> {
              counters.sessionsLost.increment();
              log.warn(
                  "session {} was lost with gateway {} (its lease expired or it was fenced);"
                      + " starting a new worker",
                  key,
                  node);
            });
    KeyState[] result = new KeyState[1];
    states.compute(
        key,
        (k, old) -> {
          // Checked inside compute: a fence clears the map after bumping the epoch, so a claim
          // of the old epoch can never be installed after that clear.
          if (membership.epoch() != m.epoch()) {
            return old;
          }
          if (old != null && old.epoch == m.epoch() && old.tryHold()) {
            old.revised(revision);
            result[0] = old;
            return old;
          }
          result[0] = new KeyState(key, revision, m.epoch());
          return result[0];
        });
    if (result[0] == null) {
      throw new RouteUnavailableException(
          "this gateway fenced itself while claiming session '" + key + "'; retry", RETRY_SOON);
    }
    return new Mine(result[0]);
  }

  // ---------------------------------------------------------------- releasing

  private void delete(KeyState ks) {
    if (ks.epoch != membership.epoch()) {
      states.remove(ks.key, ks); // its lease was given up: etcd drops the claim with it
      return;
    }
    ks.afterWrites(() -> deleteIfRevision(ks.key, ks.revision()))
        .whenComplete((ok, err) -> states.remove(ks.key, ks));
  }

  /**
   * Records the session's worker in its claim (the contract: a claim names node and worker),
   * compared on the claim's revision, which it then moves on. Best effort: a failed compare means
   * the claim was re-put or released meanwhile, and the claim stays valid without the worker.
   */
  void recordWorker(KeyState ks, String workerId) {
    ks.afterWrites(
        () -> {
          Membership.Snapshot m = membership.snapshot();
          long lease = m.lease();
          if (!ks.live() || ks.epoch != m.epoch()) {
            return CompletableFuture.completedFuture(null);
          }
          long revision = ks.revision();
          ByteSequence k = layout.session(ks.key);
          var txn =
              etcd.txn()
                  .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
                  .Then(Op.put(k, new ClaimRecord(self, workerId).encode(), leased(lease)));
          return etcd.commit(txn)
              .handle(
                  (r, err) -> {
                    if (err != null) {
                      log.debug(
                          "cannot record worker {} in the claim on {} ({})",
                          workerId,
                          ks.key,
                          Etcd.describe(err));
                    } else if (r.isSucceeded()) {
                      ks.revisedFrom(revision, r.getHeader().getRevision());
                    }
                    return null;
                  });
        });
  }

  private CompletableFuture<Void> deleteIfRevision(String key, long revision) {
    ByteSequence k = layout.session(key);
    var txn =
        etcd.txn()
            .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
            .Then(Op.delete(k, DeleteOption.DEFAULT));
    return etcd.commit(txn)
        .handle(
            (r, err) -> {
              if (err != null) {
                log.debug(
                    "cannot release the claim on {} now ({}); the sweep retries",
                    key,
                    Etcd.describe(err));
              }
              return null;
            });
  }

  private static PutOption leased(long lease) {
    return PutOption.builder().withLeaseId(lease).build();
  }

  static RouteUnavailableException unreachable(Throwable err) {
    Throwable cause = Etcd.unwrap(err);
    if (cause instanceof RouteUnavailableException r) {
      return r;
    }
    RouteUnavailableException e =
        new RouteUnavailableException(
            "the session directory (etcd) is unreachable: " + Etcd.describe(cause), RETRY_SOON);
    e.initCause(cause);
    return e;
  }
}
