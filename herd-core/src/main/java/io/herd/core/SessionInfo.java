package io.herd.core;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A snapshot of one pinned session, for admin APIs and tests.
 *
 * @param key the session key
 * @param workerId its worker's id; while suspended, the id of the worker that was saved
 * @param pid its worker's process id, when it is a process; empty while suspended
 * @param age time since the session started
 * @param idle time since its last lease closed; zero while a lease is open
 * @param openLeases leases open right now (while suspended: acquirers waiting for its resume)
 * @param suspendedFor how long ago its worker was saved and its process ended, while the session
 *     is suspended ({@code suspendAfter}); empty while it has a worker
 */
public record SessionInfo(
    String key,
    String workerId,
    OptionalLong pid,
    Duration age,
    Duration idle,
    int openLeases,
    Optional<Duration> suspendedFor) {

  /** Whether the session is suspended: saved, with no process, resumed by its next acquire. */
  public boolean suspended() {
    return suspendedFor.isPresent();
  }
}
