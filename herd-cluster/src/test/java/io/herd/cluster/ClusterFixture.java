package io.herd.cluster;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.core.testing.ObjectWorkerFactory;
import io.herd.proxy.SessionRouter;
import io.herd.testkit.EtcdServer;
import io.herd.testkit.TestWorkerCommand;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real etcd and the gateways of a test: each gateway is a {@link HerdCluster} with its own pool
 * (in-JVM object workers by default, real {@code TestWorker} processes on request). Also a
 * cross-pool tracker of live sessions per key, which remembers the highest number of pools that
 * ever held a live session for one key at the same moment. Closing it closes every pool, then every
 * cluster, then etcd — even after a failure.
 */
final class ClusterFixture implements AutoCloseable {

  static final String SECRET = "0123456789abcdef0123456789abcdef-test";

  final EtcdServer etcd;
  private final List<Gateway> gateways = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, AtomicInteger> live = new ConcurrentHashMap<>();
  private final AtomicInteger maxLivePerKey = new AtomicInteger();
  private final Map<String, AtomicInteger> ownersSeen = new ConcurrentHashMap<>();

  ClusterFixture() {
    this(true);
  }

  ClusterFixture(boolean startEtcd) {
    this.etcd = new EtcdServer();
    if (startEtcd) {
      etcd.start();
    }
  }

  /** A cluster config for {@code node} on this etcd (or on {@code etcdUrl}). */
  ClusterConfig.Builder config(String node, URI etcdUrl) {
    return ClusterConfig.builder()
        .etcd(etcdUrl)
        .secret(SECRET)
        .node(node)
        .advertise(URI.create("http://" + node + ".test:8080")) // never dialled: no data plane here
        .prefix("/herd-test/default")
        .leaseTtl(Duration.ofSeconds(6))
        .fenceMargin(Duration.ofSeconds(3))
        .requestTimeout(Duration.ofSeconds(1));
  }

  ClusterConfig.Builder config(String node) {
    return config(node, etcd.clientUrl());
  }

  /** A gateway with in-JVM object workers. */
  Gateway gateway(ClusterConfig.Builder config, int max) {
    return gateway(
        config,
        poolConfig(max),
        new ObjectWorkerFactory(URI.create("http://127.0.0.1:9"), OptionalLong.empty()));
  }

  /** A gateway with real TestWorker processes (stop timeout 1 s). */
  Gateway processGateway(ClusterConfig.Builder config, int max) {
    ProcessWorkerFactory factory =
        new ProcessWorkerFactory(
            ProcessWorkerConfig.builder()
                .command(TestWorkerCommand.argv())
                .healthPath("/health")
                .startTimeout(Duration.ofSeconds(30))
                .stopTimeout(Duration.ofSeconds(1))
                .sandbox(SandboxConfig.none())
                .build());
    return gateway(config, poolConfig(max), factory);
  }

  static PoolConfig.Builder poolConfig(int max) {
    return PoolConfig.builder()
        .name("default")
        .min(0)
        .max(max)
        .warm(0)
        .ttl(Duration.ofMinutes(10))
        .acquireTimeout(Duration.ofSeconds(30));
  }

  Gateway gateway(
      ClusterConfig.Builder config, PoolConfig.Builder poolConfig, WorkerFactory factory) {
    HerdCluster cluster = HerdCluster.start(config.build());
    Gateway gateway = null;
    try {
      String node = cluster.status().node();
      SessionPool pool =
          SessionPool.builder(poolConfig.build(), factory)
              .directory(cluster.directory())
              .listener(tracker(node))
              .build();
      gateway = new Gateway(node, cluster, pool, factory, cluster.router(pool));
      gateways.add(gateway);
      return gateway;
    } finally {
      if (gateway == null) {
        cluster.close();
      }
    }
  }

  /** The most pools that held a live session of one key at the same moment. */
  int maxLivePerKey() {
    return maxLivePerKey.get();
  }

  /** Live sessions of {@code key} across all pools now. */
  int live(String key) {
    AtomicInteger n = live.get(key);
    return n == null ? 0 : n.get();
  }

  private PoolListener tracker(String node) {
    return new PoolListener() {
      @Override
      public void sessionStarted(String key, Worker worker) {
        int now = live.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        maxLivePerKey.accumulateAndGet(now, Math::max);
      }

      @Override
      public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
        live.get(key).decrementAndGet();
      }
    };
  }

  @Override
  public void close() {
    List<Gateway> all;
    synchronized (gateways) {
      all = new ArrayList<>(gateways);
    }
    Collections.reverse(all);
    for (Gateway g : all) {
      g.close();
    }
    etcd.close();
  }

  /** One gateway: its cluster membership, pool and router. */
  static final class Gateway implements AutoCloseable {
    final String node;
    final HerdCluster cluster;
    final SessionPool pool;
    final WorkerFactory factory;
    final SessionRouter router;
    private boolean closed;

    Gateway(
        String node,
        HerdCluster cluster,
        SessionPool pool,
        WorkerFactory factory,
        SessionRouter router) {
      this.node = node;
      this.cluster = cluster;
      this.pool = pool;
      this.factory = factory;
      this.router = router;
    }

    ClusterState state() {
      return cluster.status().state();
    }

    /** Closes the pool (workers stopped), then leaves the cluster. Idempotent. */
    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      try {
        pool.close();
      } finally {
        cluster.close();
        factory.close();
      }
    }

    @Override
    public String toString() {
      return node;
    }
  }
}
