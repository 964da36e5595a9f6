package io.herd.proxy;

import io.herd.core.PoolListener;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.proxy.internal.DescriptorRefusalLog;
import io.herd.proxy.internal.DescriptorReserveHandler;
import io.herd.proxy.internal.GatewayContext;
import io.herd.proxy.internal.GatewayInitializer;
import io.herd.proxy.internal.PoolSelector;
import io.herd.proxy.internal.KeyRules;
import io.herd.proxy.internal.ProxyFrontendHandler;
import io.herd.proxy.internal.Transport;
import io.herd.proxy.internal.UpstreamPool;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP gateway in front of a {@link SessionPool}: each request is routed by its session key to
 * that session's worker, streamed both ways, and WebSockets and other upgrades become byte
 * tunnels. Start one in a few lines:
 *
 * <pre>{@code
 * HerdGateway gateway = HerdGateway.builder(pool)
 *     .sessionKey("header:X-Session-ID")
 *     .listen(new InetSocketAddress("127.0.0.1", 8080))
 *     .start();
 * }</pre>
 *
 * <p>Each exchange holds a {@link io.herd.core.SessionLease} from its request head until its
 * response was written (or its tunnel closed), so a session in use never expires. The lease comes
 * from a {@link SessionRouter} ({@link Builder#router}), which may send the request on to the
 * peer gateway that owns the session ({@link Builder#hops}).
 *
 * <p>Thread-safe. Lifetime: serving from {@link Builder#start()} until {@link #drain} or {@link
 * #close()}; the gateway does not own the pool, which its creator closes afterwards.
 */
public final class HerdGateway implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HerdGateway.class);

  private final GatewayOptions options;
  /** One per pool, in the order configured. */
  private final List<GatewayContext> contexts;
  private final ChannelGroup clients;
  private final EventLoopGroup group;
  private final Channel server;
  /** Parallel to {@link #contexts}: closes a pool's worker connections when a worker goes. */
  private final List<PoolListener> workerWatchers = new ArrayList<>();
  private final AtomicBoolean closing = new AtomicBoolean();
  private final boolean tls;
  /** Connections refused for want of a file descriptor, at accept or towards workers. */
  private final DescriptorRefusalLog refusals;

  private HerdGateway(Builder b) {
    this.options = b.options;
    this.tls = b.tls != null;
    Transport transport = Transport.detect();
    int threads = options.ioThreads() == 0 ? Runtime.getRuntime().availableProcessors() : options.ioThreads();
    this.group = transport.newGroup(threads, "herd-gateway");
    this.clients = new DefaultChannelGroup("herd-gateway-clients", GlobalEventExecutor.INSTANCE);
    EventLoopGroup loops = group;
    this.refusals = new DescriptorRefusalLog((task, delay, unit) -> {
      try {
        loops.next().schedule(task, delay, unit);
      } catch (RejectedExecutionException stopping) {
        // the gateway is closing: no summary is due any more
      }
    }, log::warn, FileDescriptors::now);
    List<GatewayRoute> routes = b.routes != null ? b.routes
        : List.of(new GatewayRoute("default", PoolMatch.ANY, b.pool, b.rule, options, b.router));
    List<GatewayContext> built = new ArrayList<>();
    for (GatewayRoute route : routes) {
      // Worker ids are unique within a pool only: each pool has its own worker connections.
      UpstreamPool upstreams = new UpstreamPool(options,
          UpstreamPool.tcp(options, transport, this::connectTimeout), refusals);
      SessionRouter router =
          route.router() != null ? route.router() : SessionRouter.local(route.pool());
      built.add(new GatewayContext(route.name(), route.match(), route.pool(), router, b.hops,
          options, route.sessionOptions(), route.rule(), upstreams, clients));
      PoolListener watcher = new PoolListener() {
        @Override
        public void workerStopped(Worker worker, WorkerExit exit) {
          upstreams.workerGone(worker.id());
        }

        @Override
        public void workerCrashed(Worker worker, WorkerExit exit) {
          upstreams.workerGone(worker.id());
        }
      };
      route.pool().addListener(watcher);
      workerWatchers.add(watcher);
    }
    this.contexts = List.copyOf(built);
    PoolSelector selector = PoolSelector.of(contexts);
    ChannelFuture bind =
        new ServerBootstrap()
            .group(group)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .handler(new DescriptorReserveHandler(refusals, b.tls == null,
                retryAfterSeconds(options)))
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new GatewayInitializer(selector, b.tls, b.exchangeListener, b.accessLog))
            .bind(b.address)
            .awaitUninterruptibly();
    if (!bind.isSuccess()) {
      unwatchPools();
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IllegalStateException("proxy.listen cannot bind: " + b.address, bind.cause());
    }
    this.server = bind.channel();
    FileDescriptors fds = FileDescriptors.now();
    log.info("gateway listening on {} ({}, {} threads, session key: {}{}; file descriptors: {}{})",
        server.localAddress(), transport.name(), threads, describeKeys(contexts),
        b.hops == null ? "" : ", hops as node " + b.hops.node(), fds.describe(),
        fds.tunnelsThatFit() < 0 ? "" : ", room for about " + fds.tunnelsThatFit() + " tunnels");
  }

  /** {@code proxy.retryAfter} in whole seconds, rounded up, at least 1. */
  private static long retryAfterSeconds(GatewayOptions options) {
    long ms = options.retryAfter().toMillis();
    return Math.max(1, (ms + 999) / 1000);
  }

  private static String describeKeys(List<GatewayContext> contexts) {
    if (contexts.size() == 1) {
      return contexts.get(0).rule().describe();
    }
    StringBuilder s = new StringBuilder();
    for (GatewayContext c : contexts) {
      s.append(s.length() == 0 ? "" : "; ").append(c.name()).append(" (")
          .append(c.match().describe()).append("): ").append(c.rule().describe());
    }
    return s.toString();
  }

  private void unwatchPools() {
    for (int i = 0; i < workerWatchers.size(); i++) {
      contexts.get(i).pool().removeListener(workerWatchers.get(i));
    }
  }

  /** A builder for a gateway in front of {@code pool}. */
  public static Builder builder(SessionPool pool) {
    return new Builder(Objects.requireNonNull(pool, "pool"), null);
  }

  /**
   * A builder for a gateway in front of several pools, each request going to the one whose
   * {@link PoolMatch} takes it most specifically (404 when none does). The builder's {@link
   * Builder#sessionKey} and {@link Builder#router} are unused: each route has its own; its
   * {@link Builder#options} are the gateway-wide ones ({@code proxy.*}).
   */
  public static Builder routing(List<GatewayRoute> routes) {
    List<GatewayRoute> copy = List.copyOf(routes);
    if (copy.isEmpty()) {
      throw new IllegalArgumentException("a gateway needs at least one pool");
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (GatewayRoute r : copy) {
      if (!names.add(r.name())) {
        throw new IllegalArgumentException("pool name is repeated: " + r.name()
            + " (expected: a unique name per pool)");
      }
    }
    return new Builder(null, copy);
  }

  /** The address the gateway listens on, with the actual port when 0 was asked for. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** The actual listening port. */
  public int port() {
    return address().getPort();
  }

  /** {@code http://host:port/}, or {@code https://} with {@link Builder#tls}. */
  public URI uri() {
    InetSocketAddress a = address();
    String host = a.getAddress().getHostAddress();
    return URI.create((tls ? "https://" : "http://") + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/");
  }

  /** Open client connections; for tests and metrics. */
  public int openConnections() {
    return clients.size();
  }

  /** Open worker connections, idle and busy, of every pool; for tests and metrics. */
  public int upstreamConnections() {
    int n = 0;
    for (GatewayContext c : contexts) {
      n += c.upstreams().openConnections();
    }
    return n;
  }

  /**
   * The connections refused so far because the gateway had no file descriptor left for them
   * (its open-files limit, {@link FileDescriptors}); each such client got a 503. Thread-safe.
   */
  public DescriptorRefusals descriptorRefusals() {
    return refusals.counts();
  }

  /**
   * Stops accepting, lets in-flight exchanges finish for up to {@code timeout} (idle keep-alive
   * connections close at once, busy ones after their response), then closes what is left and
   * stops the event loops. Idempotent; later calls return at once.
   *
   * @return whether every connection finished within the deadline
   * @throws IllegalStateException when called from one of the gateway's event loops, which it
   *     would wait for
   */
  public boolean drain(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    for (EventExecutor loop : group) {
      if (loop.inEventLoop()) {
        throw new IllegalStateException("drain() waits for the gateway's event loops; call it elsewhere");
      }
    }
    if (!closing.compareAndSet(false, true)) {
      return true;
    }
    for (GatewayContext c : contexts) {
      c.startDraining();
    }
    server.close().awaitUninterruptibly();
    for (Channel ch : clients) {
      ProxyFrontendHandler handler = ch.pipeline().get(ProxyFrontendHandler.class);
      if (handler != null) {
        ch.eventLoop().execute(handler::drain);
      }
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!clients.isEmpty() && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    boolean clean = clients.isEmpty();
    if (!clean) {
      log.warn("gateway drain deadline {} passed with {} connections open; closing them",
          timeout, clients.size());
    }
    clients.close().awaitUninterruptibly();
    for (GatewayContext c : contexts) {
      c.upstreams().close();
    }
    unwatchPools();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    return clean;
  }

  /** {@link #drain} with the drain timeout in force ({@link #timeouts()}). */
  @Override
  public void close() {
    drain(contexts.get(0).timeouts().drain());
  }

  /** Read per worker connection, long after construction: by then the context is set. */
  private Duration connectTimeout() {
    return contexts.get(0).timeouts().connect();
  }

  /** The timeouts in force: those of the options, or of the last {@link #updateTimeouts}. */
  public ProxyTimeouts timeouts() {
    return contexts.get(0).timeouts(); // the same in every pool: proxy.* is gateway-wide
  }

  /**
   * Replaces the timeouts while the gateway runs (a config reload). Each applies from the next
   * time it is armed: the next request's header and body deadlines, the next forwarded request's
   * response deadline, the next keep-alive wait, the next worker connection, the next drain.
   * Thread-safe.
   */
  public void updateTimeouts(ProxyTimeouts next) {
    for (GatewayContext context : contexts) {
      context.timeouts(next);
    }
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private final SessionPool pool;
    /** Null for a gateway of one pool ({@link #pool}). */
    private final List<GatewayRoute> routes;
    private SessionKeyRule rule;
    private InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private GatewayOptions options = GatewayOptions.defaults();
    private SslContext tls;
    private ExchangeListener exchangeListener;
    private AccessLogListener accessLog;
    private SessionRouter router;
    private HopSigner hops;

    private Builder(SessionPool pool, List<GatewayRoute> routes) {
      this.pool = pool;
      this.routes = routes;
    }

    /** Where requests carry their session key. Required. */
    public Builder sessionKey(SessionKeyRule rule) {
      this.rule = rule;
      return this;
    }

    /** Same, in the configuration form ({@code header:X-Session-ID}, ...). */
    public Builder sessionKey(String spec) {
      return sessionKey(SessionKeyRule.parse(spec));
    }

    /** The listen address; default loopback with an ephemeral port. */
    public Builder listen(InetSocketAddress address) {
      this.address = address;
      return this;
    }

    public Builder options(GatewayOptions options) {
      this.options = options;
      return this;
    }

    /**
     * Serves HTTPS (and {@code wss://}) only, with this server context, e.g. {@code
     * SslContextBuilder.forServer(certPem, keyPem).build()}; null (the default) serves plain
     * HTTP. Workers are still reached over plain HTTP.
     */
    public Builder tls(SslContext tls) {
      if (tls != null && !tls.isServer()) {
        throw new IllegalArgumentException("tls is a client context (expected: a server"
            + " context, SslContextBuilder.forServer(...))");
      }
      this.tls = tls;
      return this;
    }

    /** Told about every exchange the gateway answers, for metrics; null (default) for none. */
    public Builder exchangeListener(ExchangeListener listener) {
      this.exchangeListener = listener;
      return this;
    }

    /**
     * Told about every request once it is completely over (a WebSocket tunnel: when it closes),
     * for an access log; null (default) for none. See {@link AccessLogEntry}.
     */
    public Builder accessLog(AccessLogListener accessLog) {
      this.accessLog = accessLog;
      return this;
    }

    /**
     * Where each session is served: asked once per request in place of the pool; a lease on a
     * {@link PeerGateway} sends the request to that gateway as a signed hop (which needs {@link
     * #hops}). Null (the default) is {@link SessionRouter#local} of the pool.
     */
    public Builder router(SessionRouter router) {
      this.router = router;
      return this;
    }

    /**
     * Signs the requests this gateway forwards to peer gateways, and lets it take the ones peers
     * forward to it. Null (the default): a request that arrives with {@value HopSigner#HEADER} is
     * refused with 403, and a lease on a peer gateway fails with 500.
     */
    public Builder hops(HopSigner hops) {
      this.hops = hops;
      return this;
    }

    /** Binds and starts serving. */
    public HerdGateway start() {
      StringBuilder problems = new StringBuilder();
      if (rule == null && routes == null) {
        problems.append("\n  session.key is missing: null (expected: header:NAME, cookie:NAME, ...)");
      }
      if (address == null) {
        problems.append("\n  proxy.listen is missing: null (expected: host:port)");
      }
      if (options == null) {
        problems.append("\n  proxy options are missing: null (expected: GatewayOptions)");
      } else if (routes == null && options.issueKeys() && rule != null
          && rule.cookieName().isEmpty()) {
        problems.append("\n  session.issueKeys needs a cookie key rule: ").append(rule.describe())
            .append(" (expected: cookie:NAME)");
      }
      if (routes != null) {
        for (GatewayRoute r : routes) {
          if (r.sessionOptions().issueKeys() && r.rule().cookieName().isEmpty()) {
            problems.append("\n  pools.").append(r.name())
                .append(".session.issueKeys needs a cookie key rule: ")
                .append(r.rule().describe()).append(" (expected: cookie:NAME)");
          }
          checkDevTools(problems, r.rule());
        }
      } else {
        checkDevTools(problems, rule);
      }
      if (problems.length() > 0) {
        throw new IllegalArgumentException("invalid gateway configuration:" + problems);
      }
      return new HerdGateway(this);
    }

    private void checkDevTools(StringBuilder problems, SessionKeyRule rule) {
      if (options != null && options.devtools() && rule instanceof KeyRules.PathSegment p
          && !p.strip()) {
        problems.append("\n  ").append(
            "proxy.devtools needs the key's path segment stripped, or the browser gets it in"
            + " every path (/alice/json/version): path:").append(p.index())
            .append(" (expected: path:").append(p.index()).append(":strip)");
      }
    }
  }
}
