package io.herd.cluster;

/**
 * Counters of this gateway's cluster membership since it started; they only grow.
 *
 * @param claims sessions this gateway claimed in etcd (for itself or for a peer with more room)
 * @param claimConflicts claims that found the session already owned by another gateway
 * @param forwarded requests routed to the peer gateway that owns their session
 * @param leaseLosses times this gateway fenced itself because its lease could have expired
 * @param sessionsLost sessions this gateway started anew after the gateway that served them died or
 *     was fenced
 */
public record ClusterCounters(
    long claims, long claimConflicts, long forwarded, long leaseLosses, long sessionsLost) {}
