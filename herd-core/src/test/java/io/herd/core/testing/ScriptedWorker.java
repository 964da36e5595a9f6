package io.herd.core.testing;

import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * A worker of a {@link ScriptedWorkerFactory}: an object whose exit and health answers the test
 * decides. Its address is a placeholder nothing listens on; it has no pid.
 *
 * <p>Thread-safe. Futures are completed outside the worker's monitor.
 */
public final class ScriptedWorker implements Worker {

  private final ScriptedWorkerFactory factory;
  private final String id;
  private final URI address;
  private final CompletableFuture<WorkerExit> exit = new CompletableFuture<>();
  private final List<CompletableFuture<Boolean>> pendingChecks = new ArrayList<>();
  private boolean healthy = true;
  private boolean stopRequested;
  private boolean exited;
  private int healthChecks;

  ScriptedWorker(ScriptedWorkerFactory factory, String id) {
    this.factory = factory;
    this.id = id;
    this.address = URI.create("http://scripted.invalid/" + id);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public URI address() {
    return address;
  }

  @Override
  public OptionalLong pid() {
    return OptionalLong.empty();
  }

  @Override
  public CompletableFuture<Boolean> checkHealth(Duration timeout) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    // The factory's settings are read before this monitor is taken: the factory holds its own
    // monitor while it asks its workers whether they exited, so the other order deadlocks.
    boolean atOnce = factory.answerHealthAtOnce();
    boolean answer;
    synchronized (this) {
      healthChecks++;
      if (!atOnce) {
        pendingChecks.add(f);
        return f;
      }
      answer = healthy && !exited;
    }
    f.complete(answer);
    return f;
  }

  /** Sets what health checks answer from now on (an exited worker always answers false). */
  public synchronized ScriptedWorker healthy(boolean healthy) {
    this.healthy = healthy;
    return this;
  }

  /** Health checks asked for so far. */
  public synchronized int healthChecks() {
    return healthChecks;
  }

  /** Health checks waiting for {@link #answerHealthChecks()}. */
  public synchronized int pendingHealthChecks() {
    return pendingChecks.size();
  }

  /** Answers every pending health check with the current health; returns how many. */
  public int answerHealthChecks() {
    List<CompletableFuture<Boolean>> checks;
    boolean answer;
    synchronized (this) {
      checks = new ArrayList<>(pendingChecks);
      pendingChecks.clear();
      answer = healthy && !exited;
    }
    checks.forEach(c -> c.complete(answer));
    return checks.size();
  }

  @Override
  public CompletableFuture<WorkerExit> onExit() {
    return exit;
  }

  @Override
  public CompletableFuture<WorkerExit> stop() {
    boolean now = factory.exitOnStop(); // before this monitor: see checkHealth
    synchronized (this) {
      stopRequested = true;
    }
    if (now) {
      finishStop();
    }
    return exit;
  }

  /** Whether the pool asked it to stop. */
  public synchronized boolean stopRequested() {
    return stopRequested;
  }

  /** Makes a worker that was asked to stop exit, as the process would after its grace period. */
  public void finishStop() {
    synchronized (this) {
      if (!stopRequested) {
        throw new IllegalStateException(id + " was not asked to stop");
      }
    }
    exit(WorkerExit.stopped(0));
  }

  /** Makes the worker exit on its own, as a crashing process would. */
  public void crash(String detail) {
    exit(new WorkerExit(OptionalInt.of(137), false, detail));
  }

  private void exit(WorkerExit how) {
    synchronized (this) {
      if (exited) {
        return;
      }
      exited = true;
    }
    // The process is gone before anyone hears of it: what runs on the exit sees it gone.
    factory.exited();
    exit.complete(how);
  }

  /** Whether it has exited, on its own or when stopped. */
  public synchronized boolean hasExited() {
    return exited;
  }

  @Override
  public String toString() {
    return "ScriptedWorker{" + id + (hasExited() ? ", exited" : "") + "}";
  }
}
