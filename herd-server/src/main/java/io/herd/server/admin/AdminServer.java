package io.herd.server.admin;

import io.herd.server.config.AdminConfig;
import io.herd.server.config.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP server: one NIO event-loop thread ({@code herd-admin}), small aggregated
 * requests, the gate of {@link AdminAccessHandler} (Host, Origin and fetch-metadata rules against
 * DNS rebinding and cross-site requests), then the dashboard's page and event stream ({@link
 * DashboardHandler}) and the routes of {@link AdminRequestHandler}.
 * Loopback by default; the config refuses a non-loopback address without a token, and with a
 * token every route but {@code /health} needs it.
 *
 * <p>Thread-safe. Lifetime: serving from {@link #start} until {@link #close()}.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger("herd.admin");
  private static final int MAX_REQUEST_BYTES = 64 * 1024;
  private static final int IDLE_SECONDS = 60;

  private final EventLoopGroup group;
  private final Channel server;
  private final DashboardFeed dashboard;

  private AdminServer(EventLoopGroup group, Channel server, DashboardFeed dashboard) {
    this.group = group;
    this.server = server;
    this.dashboard = dashboard;
  }

  /**
   * Binds and starts serving, with a dashboard of {@code target}'s pool that shows no request
   * figures (it knows no gateway).
   *
   * @throws IllegalStateException when the address cannot be bound
   */
  public static AdminServer start(AdminConfig config, AdminTarget target) {
    DashboardFeed feed = new DashboardFeed(target.ids());
    feed.watch(target.pool(), () -> RequestSample.NONE);
    return start(config, target, feed);
  }

  /**
   * Binds and starts serving, the dashboard from {@code dashboard}, which it starts and, from
   * then on, owns: {@link #close()} closes it.
   *
   * @throws IllegalStateException when the address cannot be bound
   */
  public static AdminServer start(AdminConfig config, AdminTarget target,
      DashboardFeed dashboard) {
    AdminAccessHandler access = new AdminAccessHandler(AdminAccessPolicy.of(config));
    BearerToken token = BearerToken.of(config.token());
    AdminRequestHandler handler = new AdminRequestHandler(target, token);
    DashboardHandler pages = new DashboardHandler(dashboard, token);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("herd-admin", true), NioIoHandler.newFactory());
    InetSocketAddress address = config.listen().toSocketAddress();
    ChannelFuture bind = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast("timeout", new ReadTimeoutHandler(IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast("codec", new HttpServerCodec())
                .addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST_BYTES))
                .addLast("access", access) // every route, and whatever is added after it
                .addLast("dashboard", pages)
                .addLast("admin", handler);
          }
        })
        .bind(address)
        .awaitUninterruptibly();
    if (!bind.isSuccess()) {
      dashboard.close();
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      throw new IllegalStateException("admin.listen cannot bind " + config.listen() + ": "
          + bind.cause().getMessage() + " (expected: a free address; --admin-listen picks"
          + " another)", bind.cause());
    }
    dashboard.start(target);
    AdminServer admin = new AdminServer(group, bind.channel(), dashboard);
    log.info("admin API listening on {} (dashboard: {}/){}", admin.uri(), admin.uri(),
        config.token().isPresent() ? " (bearer token required)" : "");
    return admin;
  }

  /** The bound address, with the actual port when 0 was asked for. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.localAddress();
  }

  /** {@code http://host:port}. */
  public String uri() {
    InetSocketAddress a = address();
    return "http://" + new HostPort(a.getAddress().getHostAddress(), a.getPort());
  }

  /** Stops accepting, closes connections and stops the event loop, waiting up to 5 s. */
  @Override
  public void close() {
    server.close().awaitUninterruptibly();
    dashboard.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
