package io.herd.core.testing;

import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.WorkerStartException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Test fixture: a {@link WorkerFactory} whose spawns, exits and health answers the test controls,
 * with no process behind it. Every worker is a {@link ScriptedWorker} in this JVM.
 *
 * <p>By default it behaves like a perfect factory: a spawn completes at once with a healthy
 * worker, a stop makes the worker exit at once, a health check answers at once. Each of these can
 * be switched to manual, and then nothing happens until the test says so ({@link
 * #completeSpawn}, {@link #failSpawn}, {@link ScriptedWorker#finishStop}, {@link
 * ScriptedWorker#answerHealthChecks}). That is how a test holds the pool in the middle of a spawn,
 * a stop or a health check, deterministically.
 *
 * <p>It also keeps the ground truth a pool is judged against: {@link #processes()} counts every
 * worker from the moment its spawn is requested until it has exited (a failed spawn leaves nothing
 * running), which is what {@code pool.max} must bound.
 *
 * <p>Thread-safe. Futures are completed outside the factory's monitor, so the pool's callbacks
 * that they run may call back into the factory.
 */
public final class ScriptedWorkerFactory implements WorkerFactory {

  private final Map<String, CompletableFuture<Worker>> pendingSpawns = new LinkedHashMap<>();
  private final Map<String, ScriptedWorker> workers = new LinkedHashMap<>();
  private boolean startAtOnce = true;
  private boolean exitOnStop = true;
  private boolean answerHealthAtOnce = true;
  private int processes;
  private int maxProcesses;
  private int spawnRequests;
  private int preparedRequests;

  /** Whether a spawn completes at once with a healthy worker (default) or waits for the test. */
  public synchronized ScriptedWorkerFactory startAtOnce(boolean atOnce) {
    this.startAtOnce = atOnce;
    return this;
  }

  /** Whether {@link Worker#stop()} makes a worker exit at once (default) or waits for the test. */
  public synchronized ScriptedWorkerFactory exitOnStop(boolean atOnce) {
    this.exitOnStop = atOnce;
    return this;
  }

  /** Whether health checks answer at once (default) or wait for the test. */
  public synchronized ScriptedWorkerFactory answerHealthAtOnce(boolean atOnce) {
    this.answerHealthAtOnce = atOnce;
    return this;
  }

  synchronized boolean exitOnStop() {
    return exitOnStop;
  }

  synchronized boolean answerHealthAtOnce() {
    return answerHealthAtOnce;
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    CompletableFuture<Worker> f = new CompletableFuture<>();
    ScriptedWorker ready = null;
    synchronized (this) {
      spawnRequests++;
      processes++;
      maxProcesses = Math.max(maxProcesses, processes);
      if (startAtOnce) {
        ready = newWorker(workerId);
      } else {
        pendingSpawns.put(workerId, f);
      }
    }
    if (ready != null) {
      f.complete(ready);
    }
    return f;
  }

  /**
   * A spawn that may start only once {@code mayStart} completes: counted at once in {@link
   * #preparedRequests()}, and as a process (and a {@link #spawnRequests() spawn request}) only once
   * the gate opens, from when it goes on as {@link #spawn(String)}. A gate that fails fails the
   * spawn, starting nothing.
   */
  @Override
  public CompletableFuture<Worker> spawn(String workerId, CompletableFuture<Void> mayStart) {
    synchronized (this) {
      preparedRequests++;
    }
    return WorkerFactory.super.spawn(workerId, mayStart);
  }

  /** Ids of the spawns waiting for the test, oldest first. */
  public synchronized List<String> pendingSpawns() {
    return new ArrayList<>(pendingSpawns.keySet());
  }

  /** Completes a pending spawn with a healthy worker and returns it. */
  public ScriptedWorker completeSpawn(String workerId) {
    CompletableFuture<Worker> f;
    ScriptedWorker w;
    synchronized (this) {
      f = take(workerId);
      w = newWorker(workerId);
    }
    f.complete(w);
    return w;
  }

  /**
   * Completes a pending spawn with a worker that has already exited: dead on arrival, as a process
   * that answered its readiness probe and crashed right after.
   */
  public ScriptedWorker completeSpawnDead(String workerId) {
    CompletableFuture<Worker> f;
    ScriptedWorker w;
    synchronized (this) {
      f = take(workerId);
      w = newWorker(workerId);
    }
    w.crash("died on arrival");
    f.complete(w);
    return w;
  }

  /** Fails a pending spawn with a {@link WorkerStartException}; nothing is left running. */
  public void failSpawn(String workerId, String why) {
    CompletableFuture<Worker> f;
    synchronized (this) {
      f = take(workerId);
      processes--;
    }
    f.completeExceptionally(new WorkerStartException("worker " + workerId + " failed: " + why));
  }

  private CompletableFuture<Worker> take(String workerId) {
    CompletableFuture<Worker> f = pendingSpawns.remove(workerId);
    if (f == null) {
      throw new IllegalStateException("no pending spawn " + workerId + " in " + pendingSpawns);
    }
    return f;
  }

  private ScriptedWorker newWorker(String workerId) {
    ScriptedWorker w = new ScriptedWorker(this, workerId);
    workers.put(workerId, w);
    return w;
  }

  synchronized void exited() {
    processes--;
  }

  /** The worker with this id; it must have been spawned successfully. */
  public synchronized ScriptedWorker worker(String workerId) {
    ScriptedWorker w = workers.get(workerId);
    if (w == null) {
      throw new IllegalArgumentException("no worker " + workerId);
    }
    return w;
  }

  /** Every worker ever spawned successfully, in spawn order. */
  public synchronized List<ScriptedWorker> workers() {
    return new ArrayList<>(workers.values());
  }

  /** Workers that have not exited, in spawn order. */
  public synchronized List<ScriptedWorker> aliveWorkers() {
    return workers.values().stream().filter(w -> !w.hasExited()).toList();
  }

  /** Processes that exist now: spawns in progress plus workers that have not exited. */
  public synchronized int processes() {
    return processes;
  }

  /** The most {@link #processes()} there ever were at once. */
  public synchronized int maxProcesses() {
    return maxProcesses;
  }

  /** How many spawns the pool has asked for (gated ones once their gate opened). */
  public synchronized int spawnRequests() {
    return spawnRequests;
  }

  /** How many spawns the pool asked for with a {@code mayStart} gate, opened or not. */
  public synchronized int preparedRequests() {
    return preparedRequests;
  }
}
