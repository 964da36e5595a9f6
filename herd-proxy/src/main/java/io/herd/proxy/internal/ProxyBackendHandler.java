package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of a worker connection: hands what the worker sends to the exchange that
 * currently owns the connection, and drops (releases) anything that arrives while the connection
 * idles in the pool, closing it: nothing is owed to an idle connection.
 *
 * <p>Not thread-safe: the connection is registered on the event loop of the client connection
 * that uses it, so listener calls happen on that loop. Lives as long as the worker connection.
 */
public final class ProxyBackendHandler extends ChannelInboundHandlerAdapter {

  /**
   * The exchange side of a worker connection. Each call names the connection, so that a listener
   * can tell its current connection from one it has let go.
   */
  public interface Listener {
    void onUpstreamRead(Channel upstream, HttpObject msg);

    void onUpstreamReadComplete(Channel upstream);

    void onUpstreamInactive(Channel upstream, Throwable cause);
  }

  private Listener listener;
  private Throwable cause;

  /** Gives the connection to an exchange. */
  public void attach(Listener listener) {
    this.listener = listener;
    this.cause = null;
  }

  /** Takes the connection back from its exchange (it idles in the pool or closes). */
  public void detach() {
    this.listener = null;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Listener l = listener;
    if (l != null && msg instanceof HttpObject) {
      l.onUpstreamRead(ctx.channel(), (HttpObject) msg);
    } else {
      ReferenceCountUtil.release(msg);
      if (l == null) {
        ctx.close();
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onUpstreamReadComplete(ctx.channel());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    Listener l = listener;
    listener = null;
    if (l != null) {
      l.onUpstreamInactive(ctx.channel(), cause);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    this.cause = cause;
    ctx.close();
  }
}
