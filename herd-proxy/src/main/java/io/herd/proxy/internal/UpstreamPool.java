package io.herd.proxy.internal;

import io.herd.core.Worker;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.PeerGateway;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Keep-alive connections to workers and peer gateways, so that a request does not pay for a TCP
 * handshake. A peer gateway is pooled like a worker, under its id {@code peer:<node>}.
 *
 * <p>Design: connections are pooled per event loop and per worker. A client connection only ever
 * takes worker connections registered on its own event loop, so every proxied byte stays on one
 * thread and no lock is needed: each {@link PerLoop} is touched only from its loop. The only
 * cross-thread entry is {@link #workerGone}, called by pool listener threads, which hands the
 * cleanup to every loop. A connection to a worker that has exited is never handed out again
 * ({@link Worker#onExit()} is checked on release).
 *
 * <p>New connections come from a {@link Connector}: TCP in production ({@link
 * #tcp(GatewayOptions, Transport)}), in-memory channels in unit tests of the frontend. Either way
 * the pipeline is {@link #initPipeline}'s.
 *
 * <p>Thread-safe through that confinement. Lives as long as its gateway; {@link #close()} closes
 * idle connections (busy ones close with their client connections).
 */
public final class UpstreamPool {

  /** Opens connections to workers. Implementations are thread-safe. */
  @FunctionalInterface
  public interface Connector {
    /**
     * Starts a connection to {@code worker} registered on {@code loop} (or, in tests, on a loop
     * that runs on the same thread), whose pipeline {@link #initPipeline} set up.
     */
    ChannelFuture connect(Worker worker, EventLoop loop);
  }

  private static final AttributeKey<String> WORKER_ID = AttributeKey.valueOf("herd.workerId");

  private final GatewayOptions options;
  private final Connector connector;
  private final ConcurrentHashMap<EventLoop, PerLoop> loops = new ConcurrentHashMap<>();
  private final AtomicInteger open = new AtomicInteger();
  /**
   * The peer gateway last connected to, per id, whose exit is watched: a peer leaves no pool
   * listener a trace, so its own {@link PeerGateway#gone()} closes its idle connections. Bounded
   * by the number of peer nodes; a watch lives on its peer object, not here.
   */
  private final ConcurrentHashMap<String, Worker> watchedPeers = new ConcurrentHashMap<>();
  /** Told of every connection that could not be made for want of a file descriptor; or null. */
  private final DescriptorRefusalLog refusals;
  private volatile boolean closed;

  public UpstreamPool(GatewayOptions options, Connector connector) {
    this(options, connector, null);
  }

  /**
   * @param refusals told of each connection that fails for want of a file descriptor; null for
   *     none
   */
  public UpstreamPool(GatewayOptions options, Connector connector,
      DescriptorRefusalLog refusals) {
    this.options = options;
    this.connector = connector;
    this.refusals = refusals;
  }

  /** Plain TCP connections over {@code transport}. */
  public static Connector tcp(GatewayOptions options, Transport transport) {
    return tcp(options, transport, () -> options.connectTimeout());
  }

  /**
   * Plain TCP connections over {@code transport}, each opened with the connect timeout {@code
   * connectTimeout} gives at that moment (a reload may change it).
   */
  public static Connector tcp(GatewayOptions options, Transport transport,
      Supplier<Duration> connectTimeout) {
    return (worker, loop) -> {
      URI address = worker.address();
      Bootstrap bootstrap =
          new Bootstrap()
              .group(loop)
              .channel(transport.socketChannel())
              .option(ChannelOption.AUTO_READ, false) // on once an exchange owns it
              .option(ChannelOption.TCP_NODELAY, true)
              .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                  (int) Math.min(Integer.MAX_VALUE, connectTimeout.get().toMillis()))
              .attr(WORKER_ID, worker.id())
              .handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                  initPipeline(ch.pipeline(), options);
                }
              });
      return bootstrap.connect(new InetSocketAddress(address.getHost(), address.getPort()));
    };
  }

  /**
   * A worker connection's handlers: {@code decoder} and {@code encoder} (which a protocol switch
   * removes; the encoder writes a fast-path request's own header bytes) and the backend handler
   * that gives what arrives to the exchange.
   */
  public static void initPipeline(ChannelPipeline pipeline, GatewayOptions options) {
    HttpDecoderConfig decoderConfig =
        new HttpDecoderConfig()
            .setMaxChunkSize(options.maxChunkSize())
            .setMaxHeaderSize(Math.max(options.maxHeaderSize(), 65536))
            .setMaxInitialLineLength(options.maxInitialLineLength());
    pipeline
        .addLast("decoder", new UpstreamResponseDecoder(decoderConfig))
        .addLast("encoder", new UpstreamRequestEncoder())
        .addLast("backend", new ProxyBackendHandler());
  }

  /** An idle, open connection to {@code worker} on {@code loop}, or null. Call on {@code loop}. */
  public Channel pollIdle(Worker worker, EventLoop loop) {
    PerLoop perLoop = loops.get(loop);
    if (perLoop == null || worker.onExit().isDone()) {
      return null;
    }
    ArrayDeque<Channel> idle = perLoop.idle.get(worker.id());
    while (idle != null && !idle.isEmpty()) {
      Channel ch = idle.pollLast(); // most recently used: least likely to have timed out
      if (ch.isActive()) {
        return ch;
      }
    }
    return null;
  }

  /**
   * Opens a new connection to {@code worker}, registered on {@code loop}. Its future's listeners
   * run on {@code loop} even when no channel could be made at all (no file descriptor left: the
   * socket call failed), which {@link #notCreated} tells apart; that failure is counted in the
   * refusal log.
   */
  public ChannelFuture connect(Worker worker, EventLoop loop) {
    if (worker instanceof PeerGateway && watchedPeers.put(worker.id(), worker) != worker) {
      worker.onExit().whenComplete((exit, error) -> {
        watchedPeers.remove(worker.id(), worker);
        workerGone(worker.id());
      });
    }
    ChannelFuture future = connector.connect(worker, loop);
    Channel ch = future.channel();
    if (future.isDone() && !future.isSuccess() && !ch.isRegistered()) {
      // Netty fails a channel it could not create on its global executor, with a placeholder
      // channel that never closes: neither counted as open nor left to notify off the loop.
      if (refusals != null && DescriptorExhaustion.isCause(future.cause())) {
        refusals.refused(DescriptorRefusalLog.Where.UPSTREAM);
      }
      return new DefaultChannelPromise(ch, loop).setFailure(future.cause());
    }
    open.incrementAndGet();
    ch.closeFuture().addListener(f -> open.decrementAndGet());
    return future;
  }

  /**
   * Returns a connection whose exchange ended cleanly, to be taken again by exchanges on {@code
   * loop}; it is closed instead when its worker has gone, the pool is closed or full. Call on
   * {@code loop}.
   */
  public void release(Worker worker, Channel ch, EventLoop loop) {
    ch.pipeline().get(ProxyBackendHandler.class).detach();
    if (closed || !ch.isActive() || worker.onExit().isDone()) {
      ch.close();
      return;
    }
    PerLoop perLoop = loops.computeIfAbsent(loop, l -> new PerLoop());
    ArrayDeque<Channel> idle = perLoop.idle.computeIfAbsent(worker.id(), id -> new ArrayDeque<>());
    if (idle.size() >= options.maxIdleUpstreamPerWorker()) {
      ch.close();
      return;
    }
    idle.addLast(ch);
    // An idle connection keeps reading so that a worker closing it is noticed; the backend
    // handler closes it if anything else arrives.
    ch.config().setAutoRead(true);
  }

  /** Closes every pooled connection to a worker that left the pool. Any thread. */
  public void workerGone(String workerId) {
    for (Map.Entry<EventLoop, PerLoop> e : loops.entrySet()) {
      PerLoop perLoop = e.getValue();
      e.getKey().execute(() -> {
        ArrayDeque<Channel> idle = perLoop.idle.remove(workerId);
        if (idle != null) {
          idle.forEach(Channel::close);
        }
      });
    }
  }

  /** Open worker connections, idle and busy; for tests and metrics. */
  public int openConnections() {
    return open.get();
  }

  /** Closes every idle connection and refuses to pool more. Any thread. */
  public void close() {
    closed = true;
    for (Map.Entry<EventLoop, PerLoop> e : loops.entrySet()) {
      PerLoop perLoop = e.getValue();
      if (!e.getKey().isShuttingDown()) {
        e.getKey().execute(() -> {
          perLoop.idle.values().forEach(q -> q.forEach(Channel::close));
          perLoop.idle.clear();
        });
      }
    }
  }

  /**
   * Whether {@code future}, from {@link #connect}, failed before its channel existed: there is
   * nothing to close, and its channel is a placeholder that must not be touched.
   */
  public static boolean notCreated(ChannelFuture future) {
    return future.isDone() && !future.isSuccess() && !future.channel().isRegistered();
  }

  /** Worker id of a pooled connection. */
  static String workerIdOf(Channel ch) {
    return ch.attr(WORKER_ID).get();
  }

  /** The idle connections of one event loop; touched only from that loop. */
  private static final class PerLoop {
    final Map<String, ArrayDeque<Channel>> idle = new HashMap<>();
  }
}
