package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * One direction of a byte tunnel after a protocol switch (WebSocket or any other Upgrade): bytes
 * read here are written to the peer and flushed at the end of each read. When the peer's outbound
 * buffer passes its high-water mark this side stops reading, and reads again once the peer
 * drained below the low-water mark, so a slow side slows the other down instead of filling
 * memory. When either side closes, the other is closed after what was written to it is flushed.
 *
 * <p>Not thread-safe: both channels live on one event loop. Lives until its channel closes.
 */
public final class TunnelHandler extends ChannelInboundHandlerAdapter {

  private final Channel peer;

  public TunnelHandler(Channel peer) {
    this.peer = peer;
  }

  /**
   * Turns a client connection and its worker connection into a tunnel once the 101 was written:
   * encoders go first, so that the bytes the decoders still hold pass through raw when they go;
   * {@code frontend} (the client's HTTP handler) and the worker's backend handler leave with them.
   */
  static void install(Channel client, Channel upstream, ChannelHandler frontend) {
    upstream.pipeline().remove("encoder");
    client.pipeline().remove("encoder");
    upstream.pipeline().addLast("tunnel", new TunnelHandler(client));
    upstream.pipeline().remove(ProxyBackendHandler.class);
    client.pipeline().addLast("tunnel", new TunnelHandler(upstream));
    client.pipeline().remove(frontend);
    upstream.pipeline().remove("decoder");
    client.pipeline().remove("decoder");
    upstream.closeFuture().addListener(f -> client.close());
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(true);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf) || !peer.isActive()) {
      // The empty last content of the 101 response, decoded before the codec was removed.
      ReferenceCountUtil.release(msg);
      return;
    }
    peer.write(msg, peer.voidPromise());
    if (!peer.isWritable()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    peer.flush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      peer.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (peer.isActive()) {
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
