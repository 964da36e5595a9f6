package io.herd.server.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate in front of every admin route: applies {@link AdminAccessPolicy} to each request and
 * answers a refused one itself — a short text body that names the fix, then the connection is
 * closed — so no route (nor a dashboard added after it in the pipeline) ever sees it. Requests
 * the HTTP decoder could not parse are refused here too, with 400.
 *
 * <p>Stateless and {@linkplain ChannelHandler.Sharable sharable}; runs on the admin event loop.
 * Releases every request it refuses.
 */
@ChannelHandler.Sharable
final class AdminAccessHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger("herd.admin");

  private final AdminAccessPolicy policy;

  AdminAccessHandler(AdminAccessPolicy policy) {
    this.policy = policy;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      ctx.fireChannelRead(msg);
      return;
    }
    AdminAccessPolicy.Refusal refusal;
    if (req.decoderResult().isFailure()) {
      refusal = new AdminAccessPolicy.Refusal(HttpResponseStatus.BAD_REQUEST,
          "admin API: malformed request: " + req.decoderResult().cause().getMessage()
              + " (expected: an HTTP/1.1 request)");
    } else {
      InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
      refusal = policy.check(req, local.getAddress());
    }
    if (refusal == null) {
      ctx.fireChannelRead(msg);
      return;
    }
    // Debug only: a hostile page can send these in a loop, and the client reads the reason.
    log.debug("admin request {} {} from {} refused: {}", req.method(), req.uri(),
        ctx.channel().remoteAddress(), refusal.reason());
    ReferenceCountUtil.release(msg);
    byte[] body = (refusal.reason() + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse resp = new DefaultFullHttpResponse(
        HttpVersion.HTTP_1_1, refusal.status(), Unpooled.wrappedBuffer(body));
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .set("X-Content-Type-Options", "nosniff")
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
  }
}
