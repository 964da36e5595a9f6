package io.herd.server.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The admin dashboard's routes, ahead of {@link AdminRequestHandler} in the admin pipeline (and so
 * behind {@link AdminAccessHandler}'s Host, Origin and fetch-metadata gate):
 *
 * <table>
 *   <caption>Routes</caption>
 *   <tr><th>Route</th><th>Answer</th></tr>
 *   <tr><td>{@code GET /}</td><td>the dashboard page; {@code /dashboard/dashboard.js} and
 *       {@code /dashboard/dashboard.css} are its script and style. Static files from the jar
 *       that hold no data, so they need no token: the page asks for it and sends it with every
 *       data request</td></tr>
 *   <tr><td>{@code GET /events}</td><td>the live feed ({@link DashboardFeed}) as {@code
 *       text/event-stream}; needs the bearer token when one is configured</td></tr>
 * </table>
 *
 * <p>Every other request goes on to {@link AdminRequestHandler}. The page is served with a
 * Content-Security-Policy that allows only its own script, style and same-origin connections,
 * and may not be framed (its buttons end sessions).
 *
 * <p>Sharable; runs on the admin event loop. An event stream keeps its connection: the read
 * timeout is removed from its pipeline, and anything the client sends on it afterwards is
 * discarded.
 */
@ChannelHandler.Sharable
final class DashboardHandler extends ChannelInboundHandlerAdapter {

  private static final AttributeKey<SseSubscriber> STREAM =
      AttributeKey.valueOf(DashboardHandler.class, "stream");
  private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self';"
      + " connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none';"
      + " frame-ancestors 'none'";

  /** Route → content type and bytes. */
  private final Map<String, Asset> assets;
  private final DashboardFeed feed;
  private final BearerToken token;

  private record Asset(String contentType, byte[] bytes) {}

  DashboardHandler(DashboardFeed feed, BearerToken token) {
    this.feed = feed;
    this.token = token;
    String page = new String(load("index.html"), StandardCharsets.UTF_8);
    if (token.required()) { // tells the page to ask for the token before its first request
      page = page.replace("data-token-required=\"false\"", "data-token-required=\"true\"");
    }
    this.assets = Map.of(
        "/", new Asset("text/html; charset=utf-8", page.getBytes(StandardCharsets.UTF_8)),
        "/dashboard/dashboard.js", new Asset("text/javascript; charset=utf-8",
            load("dashboard.js")),
        "/dashboard/dashboard.css", new Asset("text/css; charset=utf-8", load("dashboard.css")));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (ctx.channel().hasAttr(STREAM)) {
      ReferenceCountUtil.release(msg); // a stream answers nothing more on its connection
      return;
    }
    if (!(msg instanceof FullHttpRequest req)) {
      ctx.fireChannelRead(msg);
      return;
    }
    String path = pathOf(req.uri());
    Asset asset = assets.get(path);
    if (asset == null && !path.equals("/events")) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      boolean get = req.method().equals(HttpMethod.GET);
      if (!get) {
        send(ctx, req, plain(HttpResponseStatus.METHOD_NOT_ALLOWED,
            "method not allowed (expected: GET)"), "GET");
      } else if (asset != null) {
        send(ctx, req, page(asset), null);
      } else if (!token.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
        FullHttpResponse resp = plain(HttpResponseStatus.UNAUTHORIZED, "missing or wrong bearer"
            + " token (expected: Authorization: Bearer <admin.token>)");
        resp.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"herd\"");
        send(ctx, req, resp, null);
      } else {
        stream(ctx);
      }
    } finally {
      req.release();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    SseSubscriber s = ctx.channel().attr(STREAM).get();
    if (s != null && ctx.channel().isWritable()) {
      s.writable();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    SseSubscriber s = ctx.channel().attr(STREAM).get();
    if (s != null) {
      s.closed();
    }
    ctx.fireChannelInactive();
  }

  /** Starts an event stream on this connection. */
  private void stream(ChannelHandlerContext ctx) {
    if (ctx.pipeline().get("timeout") != null) {
      ctx.pipeline().remove("timeout"); // the client only listens; the snapshots keep it alive
    }
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .set("X-Content-Type-Options", "nosniff")
        .set("X-Accel-Buffering", "no");
    HttpUtil.setTransferEncodingChunked(head, true);
    ctx.writeAndFlush(head);
    SseSubscriber s = new SseSubscriber(ctx.channel(), DashboardFeed.STREAM_BUFFER,
        feed::unsubscribe);
    ctx.channel().attr(STREAM).set(s);
    s.offer(": herd dashboard events\n\n".getBytes(StandardCharsets.UTF_8));
    feed.subscribe(s);
    if (!ctx.channel().isActive()) {
      s.closed(); // closed before it was subscribed: channelInactive found no stream
    }
  }

  private static void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse resp,
      String allow) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    HttpUtil.setKeepAlive(resp, keepAlive);
    resp.headers()
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .set("X-Content-Type-Options", "nosniff");
    if (allow != null) {
      resp.headers().set(HttpHeaderNames.ALLOW, allow);
    }
    if (keepAlive) {
      ctx.writeAndFlush(resp);
    } else {
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private static FullHttpResponse page(Asset asset) {
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.OK, Unpooled.wrappedBuffer(asset.bytes()));
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, asset.contentType())
        .setInt(HttpHeaderNames.CONTENT_LENGTH, asset.bytes().length)
        .set("Content-Security-Policy", CSP)
        .set("X-Frame-Options", "DENY")
        .set("Referrer-Policy", "no-referrer");
    return resp;
  }

  private static FullHttpResponse plain(HttpResponseStatus status, String text) {
    byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.wrappedBuffer(body));
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return resp;
  }

  private static String pathOf(String uri) {
    int q = uri.indexOf('?');
    return q >= 0 ? uri.substring(0, q) : uri;
  }

  private static byte[] load(String name) {
    String resource = "dashboard/" + name;
    try (InputStream in = DashboardHandler.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the dashboard file " + resource + " is missing from"
            + " the jar (a broken build)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the dashboard file " + resource, e);
    }
  }
}
