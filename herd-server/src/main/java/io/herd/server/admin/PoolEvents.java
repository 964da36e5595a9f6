package io.herd.server.admin;

import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * One pool's lifecycle events as the dashboard's event records, each tagged with the pool's
 * name: session start and end, worker start, stop and crash (with the worker's last stderr
 * lines), spawn failures (whose message carries the stderr of the worker that failed to start).
 * Keys are shown as {@link SessionIds} decides, never as full signed keys.
 *
 * <p>It also keeps the pool's live {@link Worker}s by id, which the pool's snapshots
 * ({@code WorkerInfo}) do not carry, so that a snapshot can read each worker's memory. Register
 * it before the pool starts (the pool builder's {@code listener}) to know the first workers too.
 *
 * <p>Thread-safe and quick, as a {@link PoolListener} must be: a record is built and handed to
 * the sink, which never blocks ({@link DashboardFeed#publish}).
 */
final class PoolEvents implements PoolListener {

  private final String pool;
  private final SessionIds ids;
  private final Consumer<Map<String, Object>> sink;
  private final Map<String, Worker> live = new ConcurrentHashMap<>();

  PoolEvents(String pool, SessionIds ids, Consumer<Map<String, Object>> sink) {
    this.pool = pool;
    this.ids = ids;
    this.sink = sink;
  }

  /** The pool's name, which every record carries. */
  String pool() {
    return pool;
  }

  /** The memory of live worker {@code id}'s cgroup; empty when unknown. May read a file. */
  OptionalLong memoryBytes(String id) {
    Worker w = live.get(id);
    return w == null ? OptionalLong.empty() : w.memoryBytes();
  }

  @Override
  public void sessionStarted(String key, Worker worker) {
    Map<String, Object> e = record("sessionStarted", worker);
    e.put("session", ids.shown(key));
    sink.accept(e);
  }

  @Override
  public void sessionSuspended(String key, Worker worker) {
    Map<String, Object> e = record("sessionSuspended", worker);
    e.put("session", ids.shown(key));
    sink.accept(e);
  }

  @Override
  public void sessionResumed(String key, Worker worker) {
    Map<String, Object> e = record("sessionResumed", worker);
    e.put("session", ids.shown(key));
    sink.accept(e);
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    Map<String, Object> e = record("sessionEnded", worker);
    e.put("session", ids.shown(key));
    e.put("reason", reason.name());
    sink.accept(e);
  }

  @Override
  public void workerStarted(Worker worker) {
    live.put(worker.id(), worker);
    sink.accept(record("workerStarted", worker));
  }

  @Override
  public void workerStopped(Worker worker, WorkerExit exit) {
    live.remove(worker.id());
    Map<String, Object> e = record("workerStopped", worker);
    e.put("exit", exit.toString());
    sink.accept(e);
  }

  @Override
  public void workerCrashed(Worker worker, WorkerExit exit) {
    live.remove(worker.id());
    Map<String, Object> e = record("workerCrashed", worker);
    e.put("exit", exit.toString());
    e.put("stderr", List.copyOf(worker.recentStderr()));
    sink.accept(e);
  }

  @Override
  public void spawnFailed(String workerId, Throwable error) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("type", "spawnFailed");
    e.put("pool", pool);
    e.put("worker", workerId);
    // A WorkerStartException's message ends with the worker's last stderr lines.
    e.put("error", Optional.ofNullable(error.getMessage()).orElse(error.toString()));
    sink.accept(e);
  }

  private Map<String, Object> record(String type, Worker worker) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("type", type);
    e.put("pool", pool);
    e.put("worker", worker.id());
    e.put("pid", worker.pid().isPresent() ? worker.pid().getAsLong() : null);
    return e;
  }
}
