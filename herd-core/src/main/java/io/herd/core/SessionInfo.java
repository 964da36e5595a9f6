package io.herd.core;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * A snapshot of one pinned session, for admin APIs and tests.
 *
 * @param key the session key
 * @param workerId its worker's id
 * @param pid its worker's process id, when it is a process
 * @param age time since the session started
 * @param idle time since its last lease closed; zero while a lease is open
 * @param openLeases leases open right now
 */
public record SessionInfo(
    String key, String workerId, OptionalLong pid, Duration age, Duration idle, int openLeases) {}
