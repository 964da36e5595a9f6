package io.herd.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.herd.proxy.internal.Transport;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

/**
 * A small, fast HTTP worker on Netty, run as a separate JVM by tests and the benchmark: the JDK's
 * HttpServer cannot speak WebSocket and is too slow to be a fair baseline for {@code wrk}.
 *
 * <p>Endpoints: {@code GET /health} ({@code ok}), {@code GET /pid}, {@code GET /hello} ({@code
 * hello}, for benchmarks), and {@code /ws}, a WebSocket that echoes text frames. Listens on
 * 127.0.0.1, port from {@code --port N}; prints {@code listening on <port>}.
 */
public final class NettyTestWorker {

  private NettyTestWorker() {}

  public static void main(String[] args) throws Exception {
    int port = -1;
    int threads = 1;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    Transport transport = Transport.detect();
    EventLoopGroup group = transport.newGroup(threads, "worker");
    Channel server =
        new ServerBootstrap()
            .group(group)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                    .addLast(new HttpServerCodec())
                    .addLast(new HttpServerKeepAliveHandler())
                    .addLast(new HttpObjectAggregator(1 << 20))
                    .addLast(new WebSocketServerProtocolHandler("/ws", null, false, 1 << 20))
                    .addLast(new WebSocketFrameAggregator(1 << 20))
                    .addLast(new EchoFrames())
                    .addLast(new Routes());
              }
            })
            .bind(InetAddress.getLoopbackAddress(), port)
            .sync()
            .channel();
    System.out.println("listening on " + ((java.net.InetSocketAddress) server.localAddress()).getPort());
    server.closeFuture().sync();
  }

  private static final class EchoFrames extends SimpleChannelInboundHandler<TextWebSocketFrame> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
      ctx.writeAndFlush(new TextWebSocketFrame(frame.text()));
    }
  }

  private static final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.US_ASCII);

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = req.uri();
      int q = path.indexOf('?');
      path = q < 0 ? path : path.substring(0, q);
      ByteBuf body;
      HttpResponseStatus status = HttpResponseStatus.OK;
      switch (path) {
        case "/health" -> body = Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII);
        case "/hello" -> body = Unpooled.wrappedBuffer(HELLO);
        case "/pid" -> body = Unpooled.copiedBuffer(
            Long.toString(ProcessHandle.current().pid()), StandardCharsets.US_ASCII);
        default -> {
          status = HttpResponseStatus.NOT_FOUND;
          body = Unpooled.copiedBuffer("no such endpoint", StandardCharsets.US_ASCII);
        }
      }
      FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
      resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      HttpUtil.setContentLength(resp, body.readableBytes());
      HttpUtil.setKeepAlive(resp, HttpUtil.isKeepAlive(req));
      if (HttpUtil.isKeepAlive(req)) {
        ctx.writeAndFlush(resp);
      } else {
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
