package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Hands out the /30 blocks of a {@code sandbox.networkRange}, one per isolated worker, released
 * when the worker's network is gone.
 *
 * <p>Host-wide: every gateway on the host leases through the lock files of {@code
 * /run/herd/leases/net} ({@link LeaseDirectory}), one per block, named by the block's first
 * address. So two gateways never use the same block, even with the same or overlapping ranges.
 * The record names the namespace and host link the holder creates for the block; if the holder
 * died, the block is not reused while either still exists (the next gateway's stale sweep removes
 * them).
 *
 * <p>A network is torn down by deleting its namespace; the kernel removes the veth pair later
 * (asynchronously, batched with other namespaces' cleanup), and until then the host end still
 * holds the block's first address. So {@link #releaseOnceGone} keeps the block leased until its
 * host link is gone: checked (one {@code stat} each) on every {@link #lease}, by {@link
 * #awaitReleases}, and every 20 ms by the thread {@code herd-subnet-release} while any block
 * waits (it ends after 10 s idle). A block is never handed out while its old link exists.
 *
 * <p>One instance per JVM ({@link #shared()}); tests make their own on a temporary directory.
 * Thread-safe: the lease directory serializes; the waiting releases are guarded by {@code
 * pending}'s monitor.
 */
final class SubnetLeases {

  private static final SubnetLeases SHARED =
      new SubnetLeases(LeaseDirectory.at(LeaseDirectory.HOST_ROOT.resolve("net")));

  private final LeaseDirectory leases;
  private final Predicate<String> leftoversRemain;
  private final Predicate<String> linkExists;
  /** Guarded by itself: blocks whose namespace is gone but whose host link may not be yet. */
  private final List<WaitingRelease> pending = new ArrayList<>();
  /** Guarded by {@code pending}: whether a poll is scheduled. */
  private boolean polling;
  private final ScheduledThreadPoolExecutor poller = newPoller();

  /**
   * @param leases where the lock files live
   * @param leftoversRemain given a dead holder's record, whether its namespace or link exists
   */
  SubnetLeases(LeaseDirectory leases, Predicate<String> leftoversRemain) {
    this(leases, leftoversRemain, SubnetLeases::linkExists);
  }

  /**
   * @param leases where the lock files live
   * @param leftoversRemain given a dead holder's record, whether its namespace or link exists
   * @param linkExists given a host link's name, whether it exists
   */
  SubnetLeases(LeaseDirectory leases, Predicate<String> leftoversRemain,
      Predicate<String> linkExists) {
    this.leases = leases;
    this.leftoversRemain = leftoversRemain;
    this.linkExists = linkExists;
  }

  /** Leases in {@code leases}, checking this host's namespaces and links. */
  SubnetLeases(LeaseDirectory leases) {
    this(leases, SubnetLeases::remains);
  }

  static SubnetLeases shared() {
    return SHARED;
  }

  /**
   * The index of a /30 block of {@code range} that no gateway on the host uses.
   *
   * @param namespace the network namespace the caller will create for the block
   * @param link the host-side link the caller will create for the block
   * @throws IOException when every block is taken (after waiting up to 5 s when some only wait
   *     for their old links to go), or the lease directory cannot be written
   */
  int lease(Ipv4Range range, String namespace, String link) throws IOException {
    releaseGone();
    String record = "pid " + ProcessHandle.current().pid() + "\nnetns " + namespace + "\nlink "
        + link + "\n";
    int block = tryLease(range, record);
    if (block < 0 && waitingCount() > 0) {
      // Every free block waits for its old link: the kernel removes it within milliseconds.
      awaitFewerWaiting(waitingCount(), 5_000);
      block = tryLease(range, record);
    }
    if (block >= 0) {
      return block;
    }
    throw new IOException("sandbox.networkRange is exhausted: " + range + " (expected: at least"
        + " one /30 block per live worker of every gateway on this host that uses the range;"
        + " widen the range)");
  }

  private int tryLease(Ipv4Range range, String record) throws IOException {
    for (int i = 0; i < range.blocks(); i++) {
      if (leases.tryLease(name(range, i), record, leftoversRemain)) {
        return i;
      }
    }
    return -1;
  }

  private int waitingCount() {
    synchronized (pending) {
      return pending.size();
    }
  }

  /** Polls every 10 ms until fewer than {@code waiting} blocks wait, or the time is up. */
  private void awaitFewerWaiting(int waiting, long timeoutMillis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (releaseGone() >= waiting && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Hands block {@code index} back; call once its namespace and link are gone. */
  void release(Ipv4Range range, int index) {
    leases.release(name(range, index));
  }

  /**
   * Hands block {@code index} back once host link {@code link} is gone (at once if it is): call
   * when its namespace is gone.
   */
  void releaseOnceGone(Ipv4Range range, int index, String link) {
    synchronized (pending) {
      pending.add(new WaitingRelease(range, index, link));
    }
    if (releaseGone() > 0) {
      schedulePoll();
    }
  }

  private void schedulePoll() {
    synchronized (pending) {
      if (polling) {
        return;
      }
      polling = true;
    }
    poller.schedule(this::poll, 20, TimeUnit.MILLISECONDS);
  }

  /** The poller's task: releases what it can, and comes back while blocks wait. */
  private void poll() {
    int left;
    try {
      left = releaseGone();
    } catch (RuntimeException e) {
      left = 1; // a lease file that cannot be removed now: try again later
    }
    synchronized (pending) {
      polling = false;
    }
    if (left > 0) {
      schedulePoll();
    }
  }

  private static ScheduledThreadPoolExecutor newPoller() {
    ScheduledThreadPoolExecutor poller = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "herd-subnet-release");
      t.setDaemon(true);
      return t;
    });
    poller.setKeepAliveTime(10, TimeUnit.SECONDS);
    poller.allowCoreThreadTimeOut(true);
    return poller;
  }

  /**
   * Releases the waiting blocks whose links are gone, polling every 10 ms up to {@code
   * timeoutMillis}.
   *
   * @return how many are still waiting
   */
  int awaitReleases(long timeoutMillis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (true) {
      int left = releaseGone();
      if (left == 0 || System.nanoTime() - deadline >= 0) {
        return left;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return left;
      }
    }
  }

  /** Releases what may be; how many blocks still wait for their links. */
  private int releaseGone() {
    List<WaitingRelease> gone = new ArrayList<>();
    int left;
    synchronized (pending) {
      pending.removeIf(w -> !linkExists.test(w.link()) && gone.add(w));
      left = pending.size();
    }
    for (WaitingRelease w : gone) {
      release(w.range(), w.index());
    }
    return left;
  }

  /** Blocks of {@code range} this JVM holds right now. */
  int leasedCount(Ipv4Range range) {
    int count = 0;
    for (String name : leases.held()) {
      if (range.contains(name)) {
        count++;
      }
    }
    return count;
  }

  private static String name(Ipv4Range range, int index) {
    return range.blockAddress(index).getHostAddress();
  }

  private static boolean linkExists(String link) {
    return link.contains("/") || Files.exists(Path.of("/sys/class/net", link));
  }

  /** A block to release once its host link is gone. */
  private record WaitingRelease(Ipv4Range range, int index, String link) {}

  /** Whether the namespace or link a dead holder recorded still exists on this host. */
  private static boolean remains(String record) {
    for (String ns : LeaseDirectory.values(record, "netns")) {
      if (ns.contains("/") || Files.exists(Path.of("/run/netns", ns))) {
        return true;
      }
    }
    for (String link : LeaseDirectory.values(record, "link")) {
      if (link.contains("/") || Files.exists(Path.of("/sys/class/net", link))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "SubnetLeases{" + leases.dir() + "}";
  }
}
