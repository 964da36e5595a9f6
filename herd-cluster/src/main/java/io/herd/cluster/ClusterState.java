package io.herd.cluster;

/** How this gateway stands with the cluster, as reported by {@link HerdCluster#status()}. */
public enum ClusterState {
  /** Holds a live etcd lease and renews it: serves every session, starts new ones. */
  CONNECTED,
  /**
   * etcd is unreachable (not yet joined, or renewals failing) but the lease cannot have expired:
   * existing local sessions are served, new sessions are refused with 503 and {@code Retry-After}.
   * Recovery is automatic.
   */
  DEGRADED,
  /**
   * The lease may be lost: this gateway refuses every request and has ended its sessions, so that
   * no key is ever served by two workers; it rejoins by itself once etcd answers again. Also the
   * state after {@link HerdCluster#close()}.
   */
  FENCED
}
