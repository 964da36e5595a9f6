package io.herd.proxy.internal;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * The whole life of a client connection accepted only to be refused for want of a file
 * descriptor ({@link DescriptorReserveHandler}): once active it is answered {@link
 * UpstreamFailure#OUT_OF_DESCRIPTORS} (503, {@code Retry-After}, {@code Connection: close}),
 * or, under TLS, given no answer, and closed through {@link LingeringClose} so that the answer is
 * not lost to a reset; whatever the client sent is dropped unread.
 *
 * <p>Not thread-safe: lives on its connection's event loop, until the connection closes.
 */
final class RefusedConnectionHandler extends ChannelInboundHandlerAdapter {

  private final boolean answer;
  private final long retryAfterSeconds;

  RefusedConnectionHandler(boolean answer, long retryAfterSeconds) {
    this.answer = answer;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (answer) {
      ctx.writeAndFlush(ErrorResponses.of(UpstreamFailure.OUT_OF_DESCRIPTORS, retryAfterSeconds))
          .addListener((ChannelFutureListener) f -> LingeringClose.start(ctx));
    } else {
      LingeringClose.start(ctx);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ReferenceCountUtil.release(msg);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
