package io.herd.server.reload;

import io.herd.cluster.ClusterConfig;
import io.herd.core.PoolConfig;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.ProxyTimeouts;
import io.herd.server.config.AdminConfig;
import io.herd.server.config.DurationFormat;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.TlsConfig;
import io.herd.vm.VmConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A configuration flattened to its YAML keys ({@code pool.max}, {@code worker.env.NAME}, ...)
 * with the value of each, so that two configurations compare key by key and every difference can
 * be named as the user wrote it. Secrets ({@code admin.token}, {@code session.secret}, {@code
 * cluster.secret}, and {@code worker.env} entries whose name says they hold one or whose value is
 * a URL with credentials) are compared but shown masked.
 *
 * <p>Split in two, as a gateway is: the pool's keys ({@link #pool}: {@code pool.*}, {@code
 * worker.*}, {@code sandbox.*}), of which a gateway with several pools has one set per pool, and
 * the gateway's own ({@link #gateway}). Stateless.
 */
final class ConfigSnapshot {

  /** Environment variable names that hold secrets by convention: shown masked. */
  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(secret|token|passw|credential|private|api_?key|_key$).*");
  /** A URL with credentials in it, {@code scheme://user:password@host}. */
  private static final Pattern CREDENTIALS_IN_URL = Pattern.compile(".*://[^/@\\s]+@.*");

  private ConfigSnapshot() {}

  /**
   * The keys of one pool: how it sizes itself ({@code pool.*}, {@code worker.health.*} timings)
   * and how its workers start ({@code worker.*}, {@code sandbox.*}; {@code worker.vm.*} for
   * microVM workers, whose {@code worker.command} is their VMM).
   */
  static Map<String, Setting> pool(PoolConfig pool, ProcessWorkerConfig worker,
      Optional<VmConfig> vm) {
    Map<String, Setting> m = new LinkedHashMap<>();
    m.put("pool.name", Setting.of(pool.name()));
    m.put("pool.min", Setting.of(pool.min()));
    m.put("pool.max", Setting.of(pool.max()));
    m.put("pool.warm", Setting.of(pool.warm()));
    m.put("pool.maxQueue", Setting.of(pool.maxQueue()));
    m.put("pool.acquireTimeout", duration(pool.acquireTimeout()));
    m.put("pool.ttl", duration(pool.ttl()));
    m.put("pool.maxLifetime", duration(pool.maxLifetime()));
    m.put("pool.suspendAfter", duration(pool.suspendAfter()));
    m.put("pool.reuse", Setting.of(pool.reuse()));
    m.put("pool.maxSessionsPerWorker", Setting.of(pool.maxSessionsPerWorker()));
    m.put("pool.evictIdleOnPressure", Setting.of(pool.evictIdleOnPressure()));
    m.put("pool.spawnBackoffInitial", duration(pool.spawnBackoffInitial()));
    m.put("pool.spawnBackoffMax", duration(pool.spawnBackoffMax()));
    m.put("worker.command", Setting.of(worker.command()));
    new TreeMap<>(worker.env()).forEach((name, value) -> m.put("worker.env." + name,
        SECRET_NAME.matcher(name).matches() || CREDENTIALS_IN_URL.matcher(value).matches()
            ? Setting.secret(value) : Setting.of(value)));
    m.put("worker.inheritEnv", Setting.of(worker.inheritEnv()));
    m.put("worker.workdir", Setting.of(worker.workdir().map(Object::toString).orElse("none")));
    m.put("worker.health.path", Setting.of(worker.healthPath()));
    m.put("worker.health.interval", duration(pool.healthInterval()));
    m.put("worker.health.timeout", duration(pool.healthTimeout()));
    m.put("worker.health.failures", Setting.of(pool.healthFailures()));
    m.put("worker.startTimeout", duration(worker.startTimeout()));
    m.put("worker.stopTimeout", duration(worker.stopTimeout()));
    m.put("worker.vm", Setting.of(vm.isPresent() ? "on" : "off"));
    vm.ifPresent(v -> {
      m.put("worker.vm.image", Setting.of(v.image()));
      m.put("worker.vm.port", Setting.of(v.port().isPresent()
          ? Integer.toString(v.port().getAsInt()) : "the image's"));
      m.put("worker.vm.memory", Setting.of(v.memoryBytes() + " bytes"));
      m.put("worker.vm.cpus", Setting.of(v.cpus()));
      m.put("worker.vm.kernel", Setting.of(v.kernelOrDefault()));
      m.put("worker.vm.accel", Setting.of(v.accel().key()));
      m.put("worker.vm.cacheDir", Setting.of(v.cacheDir()));
      m.put("worker.vm.snapshots", Setting.of(v.snapshots()));
    });
    SandboxConfig s = worker.sandbox();
    m.put("sandbox.enabled", Setting.of(s.enabled()));
    m.put("sandbox.memory", Setting.of(s.memoryBytes() > 0 ? s.memoryBytes() + " bytes" : "off"));
    m.put("sandbox.cpus", Setting.of(s.cpus() > 0 ? Double.toString(s.cpus()) : "off"));
    m.put("sandbox.pids", Setting.of(s.pids() > 0 ? Integer.toString(s.pids()) : "off"));
    m.put("sandbox.namespaces", Setting.of(s.namespaces()));
    m.put("sandbox.uid", Setting.of(s.uid().toString().toLowerCase(Locale.ROOT)));
    m.put("sandbox.uidRange", Setting.of(s.uidFirst() + "-" + s.uidLast()));
    m.put("sandbox.network", Setting.of(s.network().toString().toLowerCase(Locale.ROOT)));
    m.put("sandbox.networkRange", Setting.of(s.networkRange()));
    m.put("sandbox.egress", Setting.of(s.egress()));
    m.put("sandbox.networkSpares", Setting.of(s.networkSpares()));
    m.put("sandbox.required", Setting.of(s.required()));
    m.put("sandbox.cgroupParent", Setting.of(s.cgroupParent().orElse("auto")));
    m.put("sandbox.workdirRoot", Setting.of(s.workdirRoot()));
    return m;
  }

  /**
   * The gateway's own keys: addresses, admin API, session rules, proxy, TLS, cluster, log level.
   *
   * @param timeouts the proxy timeouts in force (a reload may have changed them since start)
   * @param logLevel the log level in force
   */
  static Map<String, Setting> gateway(HerdConfig c, ProxyTimeouts timeouts, String logLevel) {
    Map<String, Setting> m = new LinkedHashMap<>();
    m.put("listen", Setting.of(c.listen()));
    AdminConfig admin = c.admin();
    m.put("admin.listen", Setting.of(admin.listen()));
    m.put("admin.token", Setting.secret(admin.token().orElse(null)));
    m.put("admin.hosts", Setting.of(admin.hosts()));
    m.put("admin.origins", Setting.of(admin.origins()));
    GatewayOptions p = c.proxy();
    m.put("session.key", Setting.of(c.sessionKey()));
    // The secret itself is not exposed: two signers with one secret sign alike.
    m.put("session.secret", Setting.secret(p.signer().map(s -> s.sign("herd-reload")).orElse(null)));
    m.put("session.issueKeys", Setting.of(p.issueKeys()));
    m.put("session.keyTtl", duration(p.keyTtl()));
    m.put("session.concurrency", Setting.of(p.sessionConcurrency()));
    m.put("session.queue", Setting.of(p.sessionQueue()));
    m.put("proxy.headerTimeout", duration(timeouts.header()));
    m.put("proxy.idleTimeout", duration(timeouts.idle()));
    m.put("proxy.bodyTimeout", duration(timeouts.body()));
    m.put("proxy.connectTimeout", duration(timeouts.connect()));
    m.put("proxy.upstreamTimeout", duration(timeouts.response()));
    m.put("proxy.drainTimeout", duration(timeouts.drain()));
    m.put("proxy.retryAfter", duration(p.retryAfter()));
    m.put("proxy.maxInitialLineLength", Setting.of(p.maxInitialLineLength()));
    m.put("proxy.maxHeaderSize", Setting.of(p.maxHeaderSize()));
    m.put("proxy.maxChunkSize", Setting.of(p.maxChunkSize()));
    m.put("proxy.trustedProxies", Setting.of(p.trustedProxies()));
    m.put("proxy.allowUnderscoresInHeaders", Setting.of(p.allowUnderscoresInHeaders()));
    m.put("proxy.ioThreads", Setting.of(p.ioThreads()));
    m.put("proxy.maxIdleUpstreamPerWorker", Setting.of(p.maxIdleUpstreamPerWorker()));
    Optional<TlsConfig> tls = c.tls();
    m.put("tls", Setting.of(tls.isPresent() ? "on" : "off"));
    tls.ifPresent(t -> {
      m.put("tls.cert", Setting.of(t.cert()));
      m.put("tls.key", Setting.of(t.key()));
      m.put("tls.protocols", Setting.of(t.protocols()));
      m.put("tls.ciphers", Setting.of(t.ciphers()));
    });
    Optional<ClusterConfig> cluster = c.cluster();
    m.put("cluster", Setting.of(cluster.isPresent() ? "on" : "off"));
    cluster.ifPresent(k -> {
      m.put("cluster.etcd", Setting.of(k.etcd()));
      m.put("cluster.secret", Setting.secret(k.secret()));
      m.put("cluster.node", Setting.of(k.node()));
      m.put("cluster.advertise", Setting.of(k.advertise()));
      m.put("cluster.leaseTtl", duration(k.leaseTtl()));
      m.put("cluster.prefix", Setting.of(k.prefix()));
      m.put("cluster.fenceMargin", duration(Optional.ofNullable(k.fenceMargin())));
      m.put("cluster.requestTimeout", duration(Optional.ofNullable(k.requestTimeout())));
    });
    m.put("logging.access", Setting.of(c.logging().access()));
    m.put("logging.level", Setting.of(logLevel));
    return m;
  }

  private static Setting duration(Duration d) {
    return new Setting(DurationFormat.format(d), d);
  }

  private static Setting duration(Optional<Duration> d) {
    return d.map(ConfigSnapshot::duration).orElse(Setting.of("none"));
  }
}
