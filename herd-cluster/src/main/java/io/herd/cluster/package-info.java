/**
 * Several gateways share sessions through etcd: one session key, one worker, cluster-wide.
 *
 * <p>Entry point: {@link io.herd.cluster.HerdCluster}, configured by {@link
 * io.herd.cluster.ClusterConfig}. The implementation lives in {@code io.herd.cluster.internal},
 * which is not an API.
 *
 * <h2>How it works</h2>
 *
 * <ul>
 *   <li>Each gateway holds one etcd lease ({@code leaseTtl}), renewed every {@code leaseTtl/5}, and
 *       a record {@code <prefix>/nodes/<node>} on it: advertise address, lease id, free capacity.
 *   <li>A session is owned by the gateway whose claim {@code <prefix>/keys/<key>} exists: created
 *       by a transaction {@code if create_revision == 0 then put} attached to the owner's lease, so
 *       of racing first requests exactly one wins and the others forward to it (at most one hop).
 *   <li>Every gateway watches the prefix and caches nodes and owners: a request for a key owned
 *       elsewhere is forwarded without an etcd round trip. The cache is a hint; the transaction
 *       decides.
 *   <li>A new session starts on the receiving gateway while its pool has room, else it is claimed
 *       for the peer with the most published free capacity, else it queues locally.
 *   <li>Once the owner's pool gives the session a worker, the claim records the worker's id too.
 *   <li>When a session ends, its claim is deleted (guarded by its revision).
 * </ul>
 *
 * <h2>Failure semantics</h2>
 *
 * <ul>
 *   <li><b>etcd unreachable</b>: sessions owned here keep being served; new sessions get 503 with
 *       {@code Retry-After}; the state is {@link io.herd.cluster.ClusterState#DEGRADED}.
 *   <li><b>Lease at risk</b> (no renewal acknowledged for {@code leaseTtl - fenceMargin}, measured
 *       from the send time of the last acknowledged renewal on the gateway's own monotonic clock):
 *       the gateway fences — refuses every request, ends every session and kills its worker (no
 *       grace period), undoes acquires that were in flight — before the lease can have expired in etcd. It rejoins with a
 *       new lease when etcd answers. Killing, not stopping, keeps the margin independent of the
 *       workers' stop timeout.
 *   <li><b>A gateway dies</b> (even SIGKILL): its workers die with it, its lease expires after at
 *       most {@code leaseTtl}, and its claims vanish with it; the next request for each of its keys
 *       starts a new worker wherever it arrives, and that gateway counts the session as lost.
 *   <li><b>A gateway leaves</b> ({@code close()}): it marks its record leaving and revokes its
 *       lease, so its claims vanish at once and nothing is reported lost.
 * </ul>
 */
package io.herd.cluster;
