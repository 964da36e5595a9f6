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
 * Where one sandbox's workers get their UIDs: it keeps up to {@link #SPARES} UIDs of the sandbox's
 * range leased ahead of demand, so that a worker's cold start takes one instead of waiting for a
 * lease, which scans {@code /proc} and the scratch-directory roots and writes a lock file
 * ({@link UidLeases}: a millisecond or two on a quiet host, over ten on a busy one).
 *
 * <p>A spare is an ordinary lease held by this JVM: no gateway on the host can take it, and it was
 * checked free (no process under it, no scratch entry owned by it) when it was leased, which stays
 * true while it is held, since no Herd worker starts under a UID its gateway does not hold. So a
 * spare handed out is as good as a lease made at that moment. Spares count against {@code
 * sandbox.uidRange} like live workers do.
 *
 * <p>Design: the same as {@link WorkerCgroups}'. {@link #take} hands out a spare, else leases on
 * the caller's thread (which fails with the range's "exhausted" message when nothing is left);
 * either way it then asks the refill thread ({@code herd-uid-N}, one per sandbox, ends after 10 s
 * idle) to lease spares up to {@link #SPARES}. A refill that finds the range exhausted stops: the
 * next take tries again. Decisions are made under {@code lock}, leases outside it.
 *
 * <p>Lifetime: created with the sandbox (no side effects until the first take); {@link #close()}
 * releases the spares. A UID taken is released by its worker's sandbox ({@link WorkerSandbox}),
 * not here. Thread-safe.
 */
final class WorkerUids implements AutoCloseable {

  /** How many UIDs are kept leased ahead. */
  static final int SPARES = 2;

  private static final Logger log = LoggerFactory.getLogger(WorkerUids.class);
  private static final AtomicLong THREADS = new AtomicLong();

  private final UidLeases leases;
  private final int first;
  private final int last;
  private final int spares;
  private final ThreadPoolExecutor refill;
  private final Object lock = new Object();
  /** Guarded by {@code lock}. */
  private final Deque<Integer> ready = new ArrayDeque<>();
  /** Guarded by {@code lock}: whether a refill task is queued or running. */
  private boolean refilling;
  /** Guarded by {@code lock}. */
  private boolean closed;

  /**
   * @param leases the host-wide leases ({@link UidLeases#shared()} outside tests)
   * @param first the first UID of the range
   * @param last the last UID of the range
   * @param scratchRoot where the sandbox makes scratch directories: a UID owning an entry there is
   *     not leased
   * @param spares how many to keep leased ahead
   */
  WorkerUids(UidLeases leases, int first, int last, Path scratchRoot, int spares) {
    this.leases = leases;
    this.first = first;
    this.last = last;
    this.spares = spares;
    leases.scratchRoot(scratchRoot);
    long n = THREADS.incrementAndGet();
    this.refill = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        r -> {
          Thread t = new Thread(r, "herd-uid-" + n);
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * A UID of the range leased to the caller, who releases it through {@link UidLeases#release}:
   * a spare, or one leased now.
   *
   * @throws IOException when the range is exhausted, the lease directory cannot be written, or
   *     the sandbox is closed
   */
  int take() throws IOException {
    Integer spare;
    synchronized (lock) {
      if (closed) {
        throw new IOException("the worker sandbox is closed");
      }
      spare = ready.pollFirst();
    }
    int uid = spare != null ? spare : leases.lease(first, last);
    scheduleRefill();
    return uid;
  }

  /** The UIDs leased ahead right now, oldest first; for tests. */
  List<Integer> spareUids() {
    synchronized (lock) {
      return List.copyOf(ready);
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
      synchronized (lock) { // closed meanwhile: close() releases what is left
        refilling = false;
      }
    }
  }

  /** Leases spares until there are enough; resets the flag however it ends. */
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

  /** One step: leases one spare; whether more may be wanted. */
  private boolean refillOnce() {
    synchronized (lock) {
      if (closed || ready.size() >= spares) {
        return false;
      }
    }
    int uid;
    try {
      uid = leases.lease(first, last);
    } catch (IOException | RuntimeException e) {
      log.debug("could not lease a spare worker UID (the next spawn leases its own): {}",
          e.toString());
      return false;
    }
    synchronized (lock) {
      if (!closed) {
        ready.addLast(uid);
        return true;
      }
    }
    leases.release(uid); // closed while leasing: close() did not see it
    return false;
  }

  /** Releases the spares; waits up to 10 s for a lease in progress. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    refill.shutdown();
    try {
      if (!refill.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("a spare worker UID was still being leased after 10 s; the refill thread"
            + " releases it when done");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Integer> left;
    synchronized (lock) {
      left = new ArrayList<>(ready);
      ready.clear();
    }
    left.forEach(leases::release);
  }

  @Override
  public String toString() {
    return "WorkerUids{" + first + "-" + last + ", spares=" + spares + "}";
  }
}
