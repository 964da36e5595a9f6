package io.herd.core.local;

import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records every pool event as a line, for assertions. Thread-safe. */
final class RecordingListener implements PoolListener {

  /** One event: kind, session key or worker id, detail. */
  record Event(String kind, String subject, String detail) {}

  final List<Event> events = new CopyOnWriteArrayList<>();

  @Override
  public void sessionStarted(String key, Worker worker) {
    events.add(new Event("sessionStarted", key, worker.id()));
  }

  @Override
  public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
    events.add(new Event("sessionEnded", key, reason.name()));
  }

  @Override
  public void sessionSuspended(String key, Worker worker) {
    events.add(new Event("sessionSuspended", key, worker.id()));
  }

  @Override
  public void sessionResumed(String key, Worker worker) {
    events.add(new Event("sessionResumed", key, worker.id()));
  }

  @Override
  public void workerStarted(Worker worker) {
    events.add(new Event("workerStarted", worker.id(), ""));
  }

  @Override
  public void workerStopped(Worker worker, WorkerExit exit) {
    events.add(new Event("workerStopped", worker.id(), exit.toString()));
  }

  @Override
  public void workerCrashed(Worker worker, WorkerExit exit) {
    events.add(new Event("workerCrashed", worker.id(), exit.toString()));
  }

  @Override
  public void spawnFailed(String workerId, Throwable error) {
    events.add(new Event("spawnFailed", workerId, String.valueOf(error.getMessage())));
  }

  long count(String kind, String detail) {
    return events.stream()
        .filter(e -> e.kind().equals(kind) && (detail == null || e.detail().equals(detail)))
        .count();
  }

  long count(String kind) {
    return count(kind, null);
  }

  List<Event> of(String kind) {
    return events.stream().filter(e -> e.kind().equals(kind)).toList();
  }
}
