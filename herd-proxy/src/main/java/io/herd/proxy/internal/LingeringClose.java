package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client connection after the gateway's final answer without losing that answer: the
 * connection half-closes (the client reads the answer, then end-of-stream), keeps reading and
 * dropping whatever the client still sends, and closes fully when the client does or after {@link
 * #LINGER_SECONDS} seconds. A plain close with unread request bytes pending makes the kernel send
 * a reset, which can destroy the answer before the client read it; nginx's lingering close exists
 * for the same reason.
 *
 * <p>Under TLS the connection closes plainly: half-closing the socket would skip the
 * close_notify that TLS sends through the pipeline. The connection's handler must drop what
 * arrives meanwhile (it does once its state is closed). Stateless; call on the event loop.
 */
final class LingeringClose {

  /** Longest a closing connection keeps reading (and dropping) what the client still sends. */
  static final long LINGER_SECONDS = 2;

  private LingeringClose() {}

  static void start(ChannelHandlerContext ctx) {
    Channel ch = ctx.channel();
    if (!(ch instanceof DuplexChannel duplex) || ctx.pipeline().get(SslHandler.class) != null
        || !ch.isActive()) {
      ctx.close();
      return;
    }
    duplex.shutdownOutput().addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        ctx.close();
        return;
      }
      ch.config().setAutoRead(true);
      ch.eventLoop().schedule(() -> {
        ctx.close();
      }, LINGER_SECONDS, TimeUnit.SECONDS);
    });
  }
}
