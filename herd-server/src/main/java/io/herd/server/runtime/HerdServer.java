package io.herd.server.runtime;

import io.herd.cluster.ClusterConfig;
import io.herd.cluster.HerdCluster;
import io.herd.core.SessionPool;
import io.herd.proxy.DescriptorRefusals;
import io.herd.proxy.ExchangeListener;
import io.herd.proxy.FileDescriptors;
import io.herd.proxy.HerdGateway;
import io.herd.proxy.HopSigner;
import io.herd.server.admin.AdminServer;
import io.herd.server.admin.AdminTarget;
import io.herd.server.admin.ClusterView;
import io.herd.server.admin.DashboardFeed;
import io.herd.server.admin.RequestSample;
import io.herd.server.admin.SessionIds;
import io.herd.server.admin.SpawnHealth;
import io.herd.server.config.DurationFormat;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HostPort;
import io.herd.server.config.PoolSpec;
import io.herd.server.config.TlsConfig;
import io.herd.server.logging.AccessLogFormat;
import io.herd.server.logging.AccessLogWriter;
import io.herd.server.metrics.ClusterMetrics;
import io.herd.server.metrics.RequestMetrics;
import io.herd.server.metrics.RuntimeMetrics;
import io.herd.server.reload.ReloadCoordinator;
import io.herd.server.reload.ReloadOutcome;
import io.herd.server.reload.ReloadSource;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running {@code herd serve}: the cluster membership (with {@code cluster:}), the worker
 * factory, the pool, the gateway in front of it, the metrics registry and the admin API, started
 * in that order and stopped in reverse.
 *
 * <p>In a cluster the pool records its sessions through the cluster's directory, and the gateway
 * asks the cluster's router where each session lives (here, or on the peer it forwards to, signed
 * by a {@link HopSigner}). The router is given the same metered pool the gateway would use, so
 * acquires through it are timed, and the sessions it ends are ended in that pool.
 *
 * <p>Shutdown order matters: the gateway drains first (no new requests, in-flight ones finish
 * within {@code proxy.drainTimeout}), then the pool stops every worker (SIGTERM, SIGKILL after
 * {@code worker.stopTimeout}) and waits for them, then the cluster membership ends (its lease is
 * revoked, so peers may claim this gateway's sessions at once: no worker of them is left), then
 * the factory and the admin API go. So a stop takes at most {@code drainTimeout + stopTimeout}
 * plus a second or two of thread joins, and leaves no worker behind.
 *
 * <p>Thread-safe: {@link #close()} is idempotent and may race a signal. Lifetime: from {@link
 * #start} to {@link #close()}.
 */
public final class HerdServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger("herd.server");

  private final HerdConfig config;
  private final PrometheusMeterRegistry registry;
  private final RuntimeMetrics runtimeMetrics;
  /** One per pool, in the order configured; the first is {@link #pool()}. */
  private final List<PoolRuntime> pools;
  private final HerdGateway gateway;
  /** Null outside a cluster. */
  private final HerdCluster cluster;
  private final AdminServer admin;
  /** Null without a file to reload (the built-in demo). */
  private final ReloadCoordinator reloads;
  /** Set once shutdown begins; the admin API's {@code /health} then answers 503. */
  private final AtomicBoolean draining;
  private final AtomicBoolean closed = new AtomicBoolean();

  private HerdServer(HerdConfig config, PrometheusMeterRegistry registry,
      RuntimeMetrics runtimeMetrics,
      List<PoolRuntime> pools, HerdGateway gateway, HerdCluster cluster,
      AdminServer admin, ReloadCoordinator reloads, AtomicBoolean draining) {
    this.config = config;
    this.registry = registry;
    this.runtimeMetrics = runtimeMetrics;
    this.pools = List.copyOf(pools);
    this.gateway = gateway;
    this.cluster = cluster;
    this.admin = admin;
    this.reloads = reloads;
    this.draining = draining;
  }

  /**
   * Starts everything; on any failure stops what was already started (no worker survives) and
   * rethrows.
   */
  public static HerdServer start(HerdConfig config) {
    return start(config, null);
  }

  /**
   * Starts everything, and takes reloads ({@link #reload}, {@code POST /reload}) from {@code
   * source}; null for none.
   */
  public static HerdServer start(HerdConfig config, ReloadSource source) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    boolean multi = config.multiPool();
    if (!multi) {
      registry.config().commonTags("pool", config.pool().name()); // as before pools: existed
    }
    RuntimeMetrics runtimeMetrics = RuntimeMetrics.bind(registry);
    HerdCluster cluster = null;
    List<PoolRuntime> pools = new ArrayList<>();
    HerdGateway gateway = null;
    ReloadCoordinator reloads = null;
    try {
      if (config.cluster().isPresent()) {
        cluster = joinCluster(config.cluster().get());
      }
      SessionIds ids = SessionIds.of(config.proxy().signer());
      SpawnHealth spawns = new SpawnHealth(); // for /health/ready: spawn failures of any pool
      // Its listeners join each pool before it starts, so the dashboard sees the first workers.
      DashboardFeed dashboard = new DashboardFeed(ids);
      for (PoolSpec spec : config.pools()) {
        PoolRuntime runtime = PoolRuntime.start(spec, registry, multi, ids, cluster,
            dashboard.listener(spec.name()));
        pools.add(runtime);
        runtime.pool().addListener(spawns);
        dashboard.watch(runtime.pool(), multi
            ? RequestSample.of(registry, "herd.gateway.requests", spec.name())
            : RequestSample.of(registry, "herd.gateway.requests"));
      }
      ExchangeListener listener = new RequestMetrics(registry, multi);
      HerdGateway.Builder builder = multi
          ? HerdGateway.routing(pools.stream().map(PoolRuntime::route).toList())
          : HerdGateway.builder(pools.get(0).timedPool()).sessionKey(config.sessionKeyRule());
      builder.listen(config.listen().toSocketAddress())
          .options(config.proxy())
          .tls(config.tls().isPresent() ? serverContext(config.tls().get()) : null);
      if (cluster != null) {
        ClusterConfig cc = config.cluster().get();
        ExchangeListener requests = listener;
        ClusterMetrics clusterMetrics = ClusterMetrics.bind(registry, cluster);
        listener = exchange -> {
          requests.exchangeCompleted(exchange);
          clusterMetrics.exchangeCompleted(exchange);
        };
        builder.router(pools.get(0).route().router())
            .hops(new HopSigner(cc.node(), cc.secret()));
      }
      builder.exchangeListener(listener);
      if (config.logging().access() != AccessLogFormat.OFF) {
        builder.accessLog(new AccessLogWriter(config.logging().access()));
      }
      gateway = bind(builder, config);
      HerdGateway started = gateway;
      Gauge.builder("herd.gateway.connections", started, HerdGateway::openConnections)
          .description("Open client connections").register(registry);
      Gauge.builder("herd.gateway.upstream.connections", started,
              HerdGateway::upstreamConnections)
          .description("Open connections to workers, idle and busy").register(registry);
      FunctionCounter.builder("herd.gateway.fd.refusals", started,
              g -> g.descriptorRefusals().newClients())
          .tag("where", "accept")
          .description("Connections refused (503) for want of a file descriptor: new clients"
              + " answered on the spare descriptor, or requests whose worker connection failed")
          .register(registry);
      FunctionCounter.builder("herd.gateway.fd.refusals", started,
              g -> g.descriptorRefusals().workerConnections())
          .tag("where", "upstream")
          .description("Connections refused (503) for want of a file descriptor: new clients"
              + " answered on the spare descriptor, or requests whose worker connection failed")
          .register(registry);
      AtomicBoolean draining = new AtomicBoolean();
      reloads = source == null ? null : new ReloadCoordinator(config.source(), source.reader(),
          config, gateway, pools, source.logLevelPinned());
      ReloadCoordinator reloader = reloads;
      Map<String, SessionPool> byName = new LinkedHashMap<>();
      pools.forEach(p -> byName.put(p.name(), p.pool()));
      AdminServer admin = AdminServer.start(config.admin(), new AdminTarget(pools.get(0).pool(),
          registry::scrape, () -> gatewayFacts(config, started), draining::get, ids,
          Optional.ofNullable(cluster).map(ClusterView::of), id -> pools.stream()
              .map(p -> p.workers().output(id)).flatMap(Optional::stream).findFirst(), spawns,
          byName, Optional.ofNullable(reloader).map(r -> () -> r.reload("POST /reload"))),
          dashboard);
      HerdServer server = new HerdServer(config, registry, runtimeMetrics, pools, gateway,
          cluster, admin, reloads, draining);
      log.debug("effective config (secrets masked): listen {}, {}, session key {}, {}, {}, {},"
          + " tls {}, cluster {}", config.listen(), config.admin(), config.sessionKey(),
          config.worker(), config.pool(), config.proxy(),
          config.tls().map(Object::toString).orElse("off"),
          config.cluster().map(Object::toString).orElse("off"));
      for (PoolSpec p : config.pools()) {
        log.info("herd serving {} (config: {}, pool {}: min {}, max {}, warm {}; session key: {}"
            + "{})", server.uri(), config.source(), p.name(), p.pool().min(), p.pool().max(),
            p.pool().warm(), p.sessionKey(), multi ? "; takes " + p.match().describe() : "");
      }
      return server;
    } catch (RuntimeException | Error e) {
      if (reloads != null) {
        reloads.close();
      }
      if (gateway != null) {
        gateway.drain(Duration.ZERO);
      }
      pools.forEach(p -> p.pool().close());
      if (cluster != null) {
        cluster.close();
      }
      pools.forEach(p -> p.workers().close());
      runtimeMetrics.close();
      registry.close();
      throw e;
    }
  }

  /** Joins the cluster (never fails for etcd being down: it keeps trying) and says so once. */
  private static HerdCluster joinCluster(ClusterConfig cc) {
    HerdCluster cluster = HerdCluster.start(cc);
    log.info("cluster: node {}, advertise {}, etcd {}, leaseTtl {}, prefix {}", cc.node(),
        cc.advertise(), cc.etcd(), DurationFormat.format(cc.leaseTtl()), cc.prefix());
    return cluster;
  }

  /** Starts the gateway; a bind failure names the key and the way out. */
  private static HerdGateway bind(HerdGateway.Builder builder, HerdConfig config) {
    try {
      return builder.start();
    } catch (IllegalStateException e) {
      throw new IllegalStateException("listen cannot bind " + config.listen() + ": "
          + rootMessage(e) + " (expected: a free address; --listen picks another)", e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }

  private static SslContext serverContext(TlsConfig tls) {
    try {
      return tls.newServerContext();
    } catch (SSLException e) {
      throw new IllegalStateException("tls.cert and tls.key cannot be loaded: " + tls.cert()
          + " + " + tls.key(), e);
    }
  }

  private static Map<String, Object> gatewayFacts(HerdConfig config, HerdGateway gateway) {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("listen", uriOf(gateway.address(), config.tls().isPresent()).toString());
    facts.put("sessionKey", config.sessionKey());
    facts.put("clientConnections", gateway.openConnections());
    facts.put("upstreamConnections", gateway.upstreamConnections());
    FileDescriptors fds = FileDescriptors.now();
    Map<String, Object> descriptors = new LinkedHashMap<>();
    descriptors.put("open", fds.open());
    descriptors.put("limit", fds.limit());
    descriptors.put("hardLimit", fds.hardLimit());
    DescriptorRefusals refusals = gateway.descriptorRefusals();
    descriptors.put("refusedNewClients", refusals.newClients());
    descriptors.put("refusedWorkerConnections", refusals.workerConnections());
    facts.put("fileDescriptors", descriptors);
    return facts;
  }

  private static URI uriOf(InetSocketAddress a, boolean tls) {
    return URI.create((tls ? "https://" : "http://")
        + new HostPort(a.getAddress().getHostAddress(), a.getPort()));
  }

  /** The gateway's base URI, {@code https} with TLS. */
  public URI uri() {
    return uriOf(gateway.address(), config.tls().isPresent());
  }

  /** The admin API's base URI. */
  public String adminUri() {
    return admin.uri();
  }

  /**
   * Re-reads the configuration file and applies what can change live; see {@link
   * ReloadCoordinator}. Returns at once; the future completes when the reload is done.
   *
   * @param trigger what asked for it, for the log ({@code SIGHUP})
   * @throws IllegalStateException when this server has no file to reload (the built-in demo)
   */
  public CompletableFuture<ReloadOutcome> reload(String trigger) {
    if (reloads == null) {
      throw new IllegalStateException("there is no configuration file to reload");
    }
    return reloads.reload(trigger);
  }

  /** The first pool (the only one in the single-pool form), for tests. */
  public SessionPool pool() {
    return pools.get(0).pool();
  }

  /** Every pool, in the order configured. */
  public List<PoolRuntime> pools() {
    return pools;
  }

  /** The cluster membership, when configured. */
  public Optional<HerdCluster> cluster() {
    return Optional.ofNullable(cluster);
  }

  /** The metrics registry. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /**
   * Drains the gateway, stops every worker and waits for them, then stops the admin API.
   * Idempotent; a second caller returns at once.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    long start = System.nanoTime();
    draining.set(true);
    if (reloads != null) {
      reloads.close();
    }
    Duration drain = gateway.timeouts().drain(); // as in force: a reload may have changed it
    log.info("herd stopping: draining the gateway (up to {}), then stopping {} workers (grace {})",
        DurationFormat.format(drain), pools.stream().mapToInt(p -> p.pool().stats().workers()).sum(),
        DurationFormat.format(pools.get(0).workers().config().stopTimeout()));
    boolean clean = gateway.drain(drain);
    pools.forEach(p -> p.pool().close());
    if (cluster != null) {
      cluster.close(); // after the workers are gone: only then may peers claim their sessions
    }
    pools.forEach(p -> p.workers().close());
    admin.close();
    registry.close();
    log.info("herd stopped in {} ms{}", (System.nanoTime() - start) / 1_000_000,
        clean ? "" : " (some connections were cut at the drain deadline)");
  }
}
