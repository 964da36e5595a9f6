package io.herd.core.sandbox;

import java.io.IOException;
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
 * Where one sandbox's workers get their {@link WorkerCgroup}s: it keeps up to {@link #SPARES}
 * cgroups made ahead of demand, limits written, so that a worker's cold start only joins one (the
 * launcher's write of its pid to {@code cgroup.procs}) instead of waiting for the directories and
 * limit files to be made (a memory cgroup costs the kernel about a millisecond to create, more on
 * a busy host).
 *
 * <p>Design: the same as {@link WorkerNetworks}'. {@link #take} hands out a spare made with the
 * limits asked for, else makes a cgroup on the caller's thread; either way it then asks the refill
 * thread ({@code herd-cgroup-N}, one per sandbox, ends after 10 s idle) to top the spares up with
 * the limits of that last take. A spare made with other limits (the factory was reconfigured
 * since) is never handed out: the refill thread removes it. Decisions are made under {@code
 * lock}, file system work outside it.
 *
 * <p>Spares are named {@code herd-<gateway pid>-<n>-spare}, not after a worker (which is not known
 * when they are made), so that a dead gateway's spares are swept like its workers' cgroups ({@link
 * StaleSandboxSweep}).
 *
 * <p>Lifetime: created with the sandbox (no side effects until the first take); {@link #close()}
 * removes the spares. Thread-safe.
 */
final class WorkerCgroups implements AutoCloseable {

  /** How many cgroups are kept made ahead. */
  static final int SPARES = 2;

  private static final Logger log = LoggerFactory.getLogger(WorkerCgroups.class);
  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final AtomicLong THREADS = new AtomicLong();

  private final CgroupLayout layout;
  private final int spares;
  private final ThreadPoolExecutor refill;
  private final Object lock = new Object();
  /** Guarded by {@code lock}. */
  private final Deque<WorkerCgroup> ready = new ArrayDeque<>();
  /** Guarded by {@code lock}: spares with limits no longer asked for, to be removed. */
  private final List<WorkerCgroup> stale = new ArrayList<>();
  /** Guarded by {@code lock}: the limits of the last take, which the refill makes spares with. */
  private SandboxConfig limits;
  /** Guarded by {@code lock}: whether a refill task is queued or running. */
  private boolean refilling;
  /** Guarded by {@code lock}. */
  private boolean closed;

  WorkerCgroups(CgroupLayout layout, int spares) {
    this.layout = layout;
    this.spares = spares;
    long n = THREADS.incrementAndGet();
    this.refill = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "herd-cgroup-" + n);
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * A cgroup with the memory, CPU and process limits of {@code values}: a spare, or one made now.
   *
   * @throws IOException naming the file that could not be created or written, or when the sandbox
   *     is closed
   */
  WorkerCgroup take(SandboxConfig values) throws IOException {
    WorkerCgroup spare = null;
    synchronized (lock) {
      if (closed) {
        throw new IOException("the worker sandbox is closed");
      }
      limits = values;
      while (spare == null && !ready.isEmpty()) {
        WorkerCgroup next = ready.pollFirst();
        if (next.hasLimitsOf(values)) {
          spare = next;
        } else {
          stale.add(next);
        }
      }
    }
    WorkerCgroup cgroup = spare != null ? spare : create(values);
    scheduleRefill();
    return cgroup;
  }

  /** The directories of the spares made right now, oldest first; for tests. */
  List<List<Path>> spareDirs() {
    synchronized (lock) {
      return ready.stream().map(WorkerCgroup::dirs).toList();
    }
  }

  private WorkerCgroup create(SandboxConfig values) throws IOException {
    return WorkerCgroup.create(layout,
        "herd-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet() + "-spare",
        values);
  }

  private void scheduleRefill() {
    synchronized (lock) {
      if (closed || refilling || (ready.size() >= spares && stale.isEmpty())) {
        return;
      }
      refilling = true;
    }
    try {
      refill.execute(this::refill);
    } catch (RejectedExecutionException e) {
      synchronized (lock) { // closed meanwhile: close() removes what is left
        refilling = false;
      }
    }
  }

  /** Removes stale spares and makes new ones until there are enough; resets the flag however. */
  private void refill() {
    try {
      while (refillOnce()) {
        // until enough, closed, or a failure
      }
    } finally {
      synchronized (lock) {
        refilling = false;
      }
    }
  }

  /** One step: removes the stale spares, or makes one spare; whether more may be wanted. */
  private boolean refillOnce() {
    List<WorkerCgroup> remove;
    SandboxConfig values;
    synchronized (lock) {
      remove = new ArrayList<>(stale);
      stale.clear();
      values = limits;
      if (remove.isEmpty() && (closed || ready.size() >= spares)) {
        return false;
      }
    }
    if (!remove.isEmpty()) {
      destroy(remove);
      return true;
    }
    WorkerCgroup cgroup;
    try {
      cgroup = create(values);
    } catch (IOException | RuntimeException e) {
      log.debug("could not make a spare worker cgroup (the next spawn makes its own): {}",
          e.toString());
      return false;
    }
    boolean keep;
    synchronized (lock) {
      keep = !closed && cgroup.hasLimitsOf(limits);
      if (keep) {
        ready.addLast(cgroup);
      }
    }
    if (!keep) {
      destroy(List.of(cgroup));
    }
    return true;
  }

  /** Removes the spares; waits up to 10 s for one being made. Idempotent. */
  @Override
  public void close() {
    List<WorkerCgroup> left;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    refill.shutdown();
    try {
      if (!refill.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("a spare worker cgroup was still being made after 10 s; it is removed when"
            + " made, or by the next gateway's stale sweep");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (lock) {
      left = new ArrayList<>(ready);
      left.addAll(stale);
      ready.clear();
      stale.clear();
    }
    destroy(left);
  }

  private static void destroy(List<WorkerCgroup> cgroups) {
    List<Path> left = new ArrayList<>();
    for (WorkerCgroup cgroup : cgroups) {
      left.addAll(cgroup.destroy());
    }
    if (!left.isEmpty()) {
      log.warn("spare worker cgroups not removed: {}", left);
    }
  }

  @Override
  public String toString() {
    return "WorkerCgroups{spares=" + spares + "}";
  }
}
