package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one sandbox's workers get their {@link WorkerNetwork}s: it installs the sandbox's {@link
 * HostFirewall} before the first network, and keeps up to {@code sandbox.networkSpares} networks
 * built ahead of demand, so that a worker's cold start does not wait for the network.
 *
 * <p>How networks are built: by one {@link NativeNetworkBuilder} ({@code herd-net}, started at
 * the first take, a few milliseconds a network) when it can run here, else, said once in the
 * log with the reason, with the {@code ip} and {@code nft} commands (tens of milliseconds and
 * five execs a network); also when {@code herd-net} fails later on.
 *
 * <p>Design: {@link #take()} hands out a spare if there is one, else builds a network on the
 * caller's thread; either way it then asks the refill thread to top the spares up. The refill
 * thread ({@code herd-network-N}, one per sandbox, ends after 10 s idle) builds one network at a
 * time and stops at the first failure (the next take retries, and reports the error to the spawn
 * that needs it). On the command path its commands run under {@code nice -n 19} so that they
 * never take CPU from the worker that is starting right then (measured: without it, a spare saved
 * only half of its cost on a busy 2-core host); {@code herd-net}'s few milliseconds need no such
 * care. Decisions are made under {@code lock}, builds run outside it: a slow build never blocks a
 * take that finds a spare.
 *
 * <p>Spares are generic: the ruleset depends only on the block's addresses and the sandbox's
 * egress, both known ahead. A spare holds a leased /30 and a namespace until it is taken or the
 * sandbox closes.
 *
 * <p>Lifetime: created with the sandbox (no side effects until the first take); {@link #close()}
 * destroys the spares and the host firewall. A gateway killed meanwhile leaves them to the next
 * gateway's stale sweep. Thread-safe.
 */
final class WorkerNetworks implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WorkerNetworks.class);
  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final AtomicLong THREADS = new AtomicLong();
  /** Runs a spare's commands at the lowest CPU priority, where coreutils' nice is. */
  private static final List<String> BACKGROUND = Files.isExecutable(Path.of("/usr/bin/nice"))
      ? List.of("/usr/bin/nice", "-n", "19") : List.of();

  private final HostSupport host;
  private final Ipv4Range range;
  private final List<EgressRule> egress;
  private final int spares;
  private final ThreadPoolExecutor refill;
  private final Object lock = new Object();
  /** Guarded by {@code lock}. */
  private final Deque<WorkerNetwork> ready = new ArrayDeque<>();
  /** Thread-safe itself. */
  private final HostFirewall firewall;
  /** Guarded by {@code lock}: whether a refill task is queued or running. */
  private boolean refilling;
  /** Guarded by {@code lock}. */
  private boolean closed;
  /** Guarded by {@code lock}: whether the builder was tried (then {@code builder} is set or not). */
  private boolean builderTried;
  /** Guarded by {@code lock}; null: the command path. */
  private NativeNetworkBuilder builder;
  /** Whether to try {@code herd-net} at all (false: the command path, for tests). */
  private final boolean tryNative;

  WorkerNetworks(HostSupport host, Ipv4Range range, List<EgressRule> egress, int spares) {
    this(host, range, egress, spares, true);
  }

  /** As above; {@code tryNative} false keeps to the command path (tests of the fallback). */
  WorkerNetworks(HostSupport host, Ipv4Range range, List<EgressRule> egress, int spares,
      boolean tryNative) {
    this.tryNative = tryNative;
    this.host = host;
    this.range = range;
    this.egress = List.copyOf(egress);
    this.spares = spares;
    this.firewall = new HostFirewall(host.nft().orElseThrow(), range, !egress.isEmpty());
    long n = THREADS.incrementAndGet();
    this.refill = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "herd-network-" + n);
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * A network for a new worker: a spare, or one built now.
   *
   * @throws IOException when the host firewall or the network cannot be built, or the sandbox is
   *     closed
   */
  WorkerNetwork take() throws IOException {
    WorkerNetwork spare;
    synchronized (lock) {
      if (closed) {
        throw new IOException("the worker sandbox is closed");
      }
      spare = ready.pollFirst();
    }
    if (spare == null) {
      firewall.install(); // the first take; a no-op afterwards (and refused once closed)
    }
    WorkerNetwork net = spare != null ? spare : build(List.of());
    scheduleRefill();
    return net;
  }

  /** The host firewall's table name, for the report and tests. */
  String hostTable() {
    return firewall.table();
  }

  /** The namespaces of the spares built right now, oldest first. */
  List<String> spareNamespaces() {
    synchronized (lock) {
      return ready.stream().map(WorkerNetwork::namespace).toList();
    }
  }

  private WorkerNetwork build(List<String> prefix) throws IOException {
    long pid = ProcessHandle.current().pid();
    long seq = SEQUENCE.incrementAndGet();
    NativeNetworkBuilder native_ = builder();
    return WorkerNetwork.create(host, native_, "herd-" + pid + "-" + seq + "-net",
        HostFirewall.linkPrefix() + Long.toString(seq, 36), range, egress,
        native_ != null ? List.of() : prefix);
  }

  /**
   * The {@code herd-net} program, started on first use; null for the command path (it cannot
   * run here, it has failed, or the sandbox is closed). Starting it under {@code lock} is fine:
   * it happens once, before any spare exists, so no take waits behind it for a spare.
   */
  private NativeNetworkBuilder builder() {
    synchronized (lock) {
      if (!builderTried && !closed) {
        builderTried = true;
        if (!tryNative) {
          log.info("isolated worker networks are built with the ip and nft commands");
        } else {
          try {
            builder = NativeNetworkBuilder.start();
            log.info("isolated worker networks are built by herd-net (rtnetlink and"
                + " libnftables, pid {})", builder.pid());
          } catch (IOException | RuntimeException e) {
            log.warn("isolated worker networks are built with the ip and nft commands, more"
                + " slowly: {}", e.getMessage());
          }
        }
      }
      if (builder != null && !builder.alive()) {
        log.warn("herd-net has failed; isolated worker networks are built with the ip and nft"
            + " commands from now on");
        builder.close();
        builder = null;
      }
      return builder;
    }
  }

  /** Which way networks are built, for the report and tests: herd-net, commands, or not yet. */
  String buildPath() {
    synchronized (lock) {
      return !builderTried ? "not yet" : builder != null ? "herd-net" : "commands";
    }
  }

  private void scheduleRefill() {
    synchronized (lock) {
      if (closed || refilling || ready.size() >= spares) {
        return;
      }
      refilling = true;
    }
    try {
      refill.execute(this::refill);
    } catch (RejectedExecutionException e) {
      // closed meanwhile: no spares wanted any more
      synchronized (lock) {
        refilling = false;
      }
    }
  }

  /** Builds spares until there are enough; the flag is reset however it ends. */
  private void refill() {
    try {
      while (buildOneSpare()) {
        // until enough, closed, or a failure
      }
    } finally {
      synchronized (lock) {
        refilling = false;
      }
    }
  }

  /** Builds one spare if one is wanted; whether another may be wanted after it. */
  private boolean buildOneSpare() {
    synchronized (lock) {
      if (closed || ready.size() >= spares) {
        return false;
      }
    }
    WorkerNetwork net;
    try {
      net = build(BACKGROUND);
    } catch (IOException | RuntimeException e) {
      log.debug("could not build a spare worker network (the next spawn builds its own): {}",
          e.toString());
      return false;
    }
    boolean keep;
    synchronized (lock) {
      keep = !closed;
      if (keep) {
        ready.addLast(net);
      }
    }
    if (!keep) {
      destroy(List.of(net));
    }
    return keep;
  }

  /**
   * Destroys the spares and removes the host firewall; waits up to 10 s for a spare being built.
   * Workers still running keep their networks until they are released; they lose the host
   * firewall's protection only after this, when the sandbox's factory is closed and they are
   * being stopped.
   */
  @Override
  public void close() {
    List<WorkerNetwork> spareNets;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      spareNets = new ArrayList<>(ready);
      ready.clear();
    }
    refill.shutdown();
    try {
      if (!refill.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("a spare worker network was still being built after 10 s; it is removed when"
            + " built, or by the next gateway's stale sweep");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<String> left = new ArrayList<>(destroy(spareNets));
    left.addAll(firewall.remove());
    NativeNetworkBuilder toClose;
    synchronized (lock) {
      toClose = builder;
      builder = null;
    }
    if (toClose != null) {
      toClose.close(); // workers' networks released later are deleted with ip netns del
    }
    // The kernel removes deleted namespaces' links within milliseconds: hand their blocks back
    // before the gateway exits rather than leave lease files to the next gateway.
    int waiting = SubnetLeases.shared().awaitReleases(5_000);
    if (waiting > 0) {
      left.add(waiting + " /30 block(s) whose host link still exists after 5 s (released when it"
          + " is gone, or by the next gateway)");
    }
    if (!left.isEmpty()) {
      log.warn("worker networks not fully removed: {}", left);
    }
  }

  private static List<String> destroy(List<WorkerNetwork> nets) {
    return WorkerNetwork.destroy(nets);
  }

  @Override
  public String toString() {
    return "WorkerNetworks{" + range + ", egress=" + egress + ", table=" + firewall.table() + "}";
  }
}
