package io.herd.cluster;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How this gateway joins a cluster: the etcd endpoints, the shared secret that signs hops between
 * gateways, this gateway's node name and the address peers reach it at, the lease TTL that bounds
 * how long a dead gateway's sessions stay claimed, and the etcd key prefix.
 *
 * <p>Immutable, validated at construction (TODO herd-cluster helper: builder + validation with
 * {@link io.herd.core.InvalidConfigException} naming each field).
 *
 * @param etcd etcd client endpoints, e.g. {@code http://127.0.0.1:2379}; at least one
 * @param secret shared by every gateway of the cluster, at least 32 characters
 * @param node this gateway's name, unique in the cluster, e.g. {@code gw-7}
 * @param advertise where peers reach this gateway's proxy, e.g. {@code http://10.0.0.7:8080}
 * @param leaseTtl the etcd lease TTL: a dead gateway's sessions are claimable this long after
 * @param prefix the etcd key prefix including the pool name, e.g. {@code /herd/default}
 */
public record ClusterConfig(
    List<URI> etcd, String secret, String node, URI advertise, Duration leaseTtl, String prefix) {}
