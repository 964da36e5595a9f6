package io.herd.cluster.internal;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.herd.core.Scheduler;
import io.herd.proxy.PeerGateway;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This gateway's cached picture of the cluster, kept by one etcd watch over the whole prefix: which
 * gateways are live (with a {@link PeerGateway} for each peer) and which node owns each session
 * key. It answers "where does this key live?" without an etcd round trip per request.
 *
 * <p><b>It is a hint, not the truth.</b> The cache may lag etcd; every decision that matters is
 * made by a transaction in etcd ({@code Claims}). A stale entry costs at most a forwarded request
 * that the peer answers by claiming the key itself, or a 503 "misdirected" that the client retries.
 *
 * <p><b>Sync.</b> {@link #resync()} reads every key under the prefix at one revision R (in pages)
 * and then watches from R+1, so no event is missed or applied twice. A watch error closes the watch
 * and schedules a resync (every second until etcd answers); a generation number makes the events of
 * a replaced watch harmless.
 *
 * <p><b>Lost sessions.</b> When a peer's record vanishes without the "leaving" mark it writes
 * before it revokes its lease on purpose, the keys it owned (as cached just before) are remembered,
 * bounded, as lost with that node. The gateway that later claims one of them reports the loss
 * ({@link #takeLost}); any other gateway forgets it on seeing the new claim.
 *
 * <p>Thread-safe: reads use concurrent maps; events and resyncs apply under this object's lock.
 * Lifetime: from construction to {@link #close()}.
 */
final class ClusterView {

  /** A cached claim: who owns the key, at which revision. */
  record Claim(String node, String worker, long modRevision) {}

  private static final Logger log = LoggerFactory.getLogger(ClusterView.class);
  private static final int MAX_LOST = 10_000;
  private static final long RESYNC_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String self;
  private final KeyLayout layout;
  private final Etcd etcd;
  private final Scheduler scheduler;
  private final Consumer<NodeRecord> ownRecordSeen;

  private final ConcurrentHashMap<String, NodeRecord> nodes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Claim> keys = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, PeerGateway> peers = new ConcurrentHashMap<>();

  // Guarded by this.
  private final LinkedHashMap<String, String> lost = new LinkedHashMap<>();
  private long generation;
  private Watch.Watcher watcher;
  private boolean resyncScheduled;
  private boolean closed;
  private final List<PeerGateway> retired = new ArrayList<>();

  /**
   * @param ownRecordSeen told of every event about this node's own record (null when deleted), so
   *     that the member can rewrite a record that lost its lease
   */
  ClusterView(
      String self,
      KeyLayout layout,
      Etcd etcd,
      Scheduler scheduler,
      Consumer<NodeRecord> ownRecordSeen) {
    this.self = self;
    this.layout = layout;
    this.etcd = etcd;
    this.scheduler = scheduler;
    this.ownRecordSeen = ownRecordSeen;
  }

  // ---------------------------------------------------------------- reads

  /** The node that owns {@code key}, as last seen. */
  Optional<String> owner(String key) {
    Claim claim = keys.get(key);
    return claim == null ? Optional.empty() : Optional.of(claim.node());
  }

  /** The worker recorded in {@code key}'s claim, as last seen, once its owner bound one. */
  Optional<String> worker(String key) {
    Claim claim = keys.get(key);
    return claim == null ? Optional.empty() : Optional.ofNullable(claim.worker());
  }

  /** The gateway to forward to for {@code node}, while it is live. */
  Optional<PeerGateway> peer(String node) {
    return Optional.ofNullable(peers.get(node));
  }

  Optional<NodeRecord> node(String node) {
    return Optional.ofNullable(nodes.get(node));
  }

  /** Live gateways, this one included when its record is seen. */
  List<NodeRecord> nodes() {
    List<NodeRecord> list = new ArrayList<>(nodes.values());
    list.sort(Comparator.comparing(NodeRecord::node));
    return list;
  }

  /** The peer with the most free capacity, if any has room and is not leaving. */
  Optional<NodeRecord> roomiestPeer() {
    return nodes.values().stream()
        .filter(n -> !n.node().equals(self) && !n.leaving() && n.free() > 0)
        .max(Comparator.comparingInt(NodeRecord::free).thenComparing(NodeRecord::node));
  }

  /** Every cached claim. */
  Map<String, Claim> claims() {
    return keys;
  }

  /** Number of claimed keys in the cluster, as cached. */
  int size() {
    return keys.size();
  }

  // ---------------------------------------------------------------- lost sessions

  /** Remembers {@code lostKeys} as lost with {@code node} (bounded: the oldest are forgotten). */
  synchronized void rememberLost(Collection<String> lostKeys, String node) {
    for (String key : lostKeys) {
      lost.remove(key);
      lost.put(key, node);
    }
    while (lost.size() > MAX_LOST) {
      lost.remove(lost.keySet().iterator().next());
    }
  }

  /** The node {@code key} was lost with, if it was; forgets it. */
  synchronized Optional<String> takeLost(String key) {
    return Optional.ofNullable(lost.remove(key));
  }

  // ---------------------------------------------------------------- learning a node

  /**
   * Adds a node record read outside the watch (an owner the cache had not seen yet); the watch
   * stays the authority and may replace or remove it.
   */
  void learn(NodeRecord record) {
    synchronized (this) {
      if (!closed) {
        putNode(record);
      }
    }
    retireGone();
  }

  // ---------------------------------------------------------------- sync

  /** Reads everything and watches from there; completes once the snapshot is applied. */
  CompletableFuture<Void> resync() {
    return etcd.snapshot(layout.root())
        .thenAccept(
            snapshot -> {
              NodeRecord own;
              synchronized (this) {
                if (closed) {
                  return;
                }
                long gen = ++generation;
                if (watcher != null) {
                  watcher.close();
                }
                own = applySnapshot(snapshot.kvs());
                watcher =
                    etcd.watch(
                        layout.root(),
                        snapshot.revision() + 1,
                        Watch.listener(r -> onEvents(gen, r), e -> onWatchError(gen, e)));
              }
              retireGone();
              ownRecordSeen.accept(own);
            });
  }

  void close() {
    Watch.Watcher w;
    synchronized (this) {
      closed = true;
      generation++;
      w = watcher;
      watcher = null;
    }
    if (w != null) {
      w.close();
    }
    synchronized (this) {
      retired.addAll(peers.values());
      peers.clear();
    }
    retireGone();
  }

  /**
   * Tells the peers that left that they are gone, with no lock held: {@link PeerGateway#gone()}
   * runs the data plane's callbacks (closing pooled connections).
   */
  private void retireGone() {
    List<PeerGateway> gone;
    synchronized (this) {
      if (retired.isEmpty()) {
        return;
      }
      gone = new ArrayList<>(retired);
      retired.clear();
    }
    gone.forEach(PeerGateway::gone);
  }

  /**
   * Guarded by this. Replaces the cache by {@code kvs}, noting nodes that vanished meanwhile;
   * returns this node's own record, if present.
   */
  private NodeRecord applySnapshot(List<KeyValue> kvs) {
    Map<String, NodeRecord> newNodes = new HashMap<>();
    Map<String, Claim> newKeys = new HashMap<>();
    for (KeyValue kv : kvs) {
      layout
          .parse(kv.getKey())
          .ifPresent(
              parsed -> {
                switch (parsed.kind()) {
                  case NODE ->
                      NodeRecord.decode(parsed.name(), kv.getValue())
                          .ifPresent(r -> newNodes.put(r.node(), r));
                  case SESSION ->
                      ClaimRecord.decode(kv.getValue())
                          .ifPresent(
                              c ->
                                  newKeys.put(
                                      parsed.name(), new Claim(c.node(), c.worker(), kv.getModRevision())));
                }
              });
    }
    Set<String> vanished = new HashSet<>();
    for (NodeRecord old : nodes.values()) {
      if (!newNodes.containsKey(old.node()) && !old.leaving() && !old.node().equals(self)) {
        vanished.add(old.node());
      }
    }
    noteLost(vanished);
    for (String node : new ArrayList<>(nodes.keySet())) {
      if (!newNodes.containsKey(node)) {
        removeNode(node);
      }
    }
    newNodes.values().forEach(this::putNode);
    keys.keySet().retainAll(newKeys.keySet());
    keys.putAll(newKeys);
    newKeys.forEach((k, claim) -> forgetLostClaimedElsewhere(k, claim.node()));
    return newNodes.get(self);
  }

  private void onEvents(long gen, WatchResponse response) {
    NodeRecord ownRecord = null;
    boolean ownTouched = false;
    synchronized (this) {
      if (gen != generation || closed) {
        return;
      }
      List<WatchEvent> events = response.getEvents();
      // Pass 1, read-only: which nodes vanish without leaving. Their keys are deleted in the same
      // revision (one lease), i.e. in this batch, so the cache still holds them here.
      Set<String> vanished = new HashSet<>();
      for (WatchEvent e : events) {
        if (e.getEventType() == WatchEvent.EventType.DELETE) {
          layout
              .parse(e.getKeyValue().getKey())
              .filter(p -> p.kind() == KeyLayout.Kind.NODE && !p.name().equals(self))
              .map(p -> nodes.get(p.name()))
              .filter(r -> !r.leaving())
              .ifPresent(r -> vanished.add(r.node()));
        }
      }
      noteLost(vanished);
      // Pass 2: apply in order.
      for (WatchEvent e : events) {
        KeyValue kv = e.getKeyValue();
        Optional<KeyLayout.Parsed> parsed = layout.parse(kv.getKey());
        if (parsed.isEmpty()) {
          continue;
        }
        String name = parsed.get().name();
        boolean put = e.getEventType() == WatchEvent.EventType.PUT;
        if (parsed.get().kind() == KeyLayout.Kind.NODE) {
          if (put) {
            Optional<NodeRecord> record = NodeRecord.decode(name, kv.getValue());
            record.ifPresent(this::putNode);
            if (name.equals(self)) {
              ownTouched = true;
              ownRecord = record.orElse(null);
            }
          } else {
            removeNode(name);
            if (name.equals(self)) {
              ownTouched = true;
              ownRecord = null;
            }
          }
        } else if (put) {
          Optional<ClaimRecord> claim = ClaimRecord.decode(kv.getValue());
          if (claim.isPresent()) {
            keys.put(name, new Claim(claim.get().node(), claim.get().worker(), kv.getModRevision()));
            forgetLostClaimedElsewhere(name, claim.get().node());
          }
        } else {
          keys.remove(name);
        }
      }
    }
    retireGone();
    if (ownTouched) {
      ownRecordSeen.accept(ownRecord);
    }
  }

  private void onWatchError(long gen, Throwable error) {
    synchronized (this) {
      if (gen != generation || closed) {
        return;
      }
      generation++;
      if (watcher != null) {
        watcher.close();
        watcher = null;
      }
    }
    log.debug("cluster watch of {} failed ({}); resyncing", self, Etcd.describe(error));
    scheduleResync();
  }

  /** Resyncs soon, and again every second until it succeeds. */
  void scheduleResync() {
    synchronized (this) {
      if (closed || resyncScheduled) {
        return;
      }
      resyncScheduled = true;
    }
    scheduler.schedule(
        () -> {
          synchronized (this) {
            resyncScheduled = false;
          }
          resync()
              .whenComplete(
                  (ok, err) -> {
                    if (err != null) {
                      scheduleResync();
                    }
                  });
        },
        RESYNC_NANOS,
        TimeUnit.NANOSECONDS);
  }

  /** Guarded by this. */
  private void noteLost(Set<String> vanished) {
    for (String node : vanished) {
      List<String> owned = new ArrayList<>();
      keys.forEach(
          (key, claim) -> {
            if (claim.node().equals(node)) {
              owned.add(key);
            }
          });
      if (!owned.isEmpty()) {
        log.warn(
            "gateway {} left the cluster without leaving (dead or cut off): its {} session(s)"
                + " will start anew wherever they are next requested",
            node,
            owned.size());
        rememberLost(owned, node);
      }
    }
  }

  /** Guarded by this. Another gateway claimed a lost key: that gateway reports the loss. */
  private void forgetLostClaimedElsewhere(String key, String owner) {
    if (!owner.equals(self)) {
      lost.remove(key);
    }
  }

  /** Guarded by this. */
  private void putNode(NodeRecord record) {
    nodes.put(record.node(), record);
    if (record.node().equals(self)) {
      return;
    }
    PeerGateway current = peers.get(record.node());
    if (current == null || !current.address().equals(record.advertise())) {
      peers.put(record.node(), new PeerGateway(record.node(), record.advertise()));
      if (current != null) {
        retired.add(current);
      }
    }
  }

  /** Guarded by this. */
  private void removeNode(String node) {
    nodes.remove(node);
    PeerGateway gone = peers.remove(node);
    if (gone != null) {
      retired.add(gone);
    }
  }
}
