package io.herd.core;

/**
 * A point-in-time snapshot of a pool, taken without blocking. The gauges are read one by one, so
 * under load they may be a few events apart; the counters only grow.
 *
 * @param workers worker processes that exist, which is what {@code max} bounds: {@code idle + busy
 *     + starting + stopping}
 * @param idle ready workers with no session
 * @param busy workers pinned to a session, or being health-checked before their next one
 * @param starting spawns in progress
 * @param stopping workers asked to stop that have not exited yet
 * @param sessions pinned sessions, suspended ones included
 * @param queued sessions waiting for a worker
 * @param spawns workers started successfully since the pool was created
 * @param spawnFailures spawns that failed
 * @param crashes workers that exited on their own or failed health checks
 * @param evictions sessions ended by {@code evictIdleOnPressure}
 * @param expirations sessions ended by TTL or {@code maxLifetime}
 * @param acquireTimeouts acquires that failed after {@code acquireTimeout}
 * @param queueRejections acquires refused because the queue was full
 * @param suspended sessions whose worker is saved and whose process has gone ({@code
 *     suspendAfter}), among {@code sessions}
 * @param suspensions workers saved since the pool was created
 * @param resumes workers started again from saved state since the pool was created
 */
public record PoolStats(
    int workers,
    int idle,
    int busy,
    int starting,
    int stopping,
    int sessions,
    int queued,
    long spawns,
    long spawnFailures,
    long crashes,
    long evictions,
    long expirations,
    long acquireTimeouts,
    long queueRejections,
    int suspended,
    long suspensions,
    long resumes) {}
