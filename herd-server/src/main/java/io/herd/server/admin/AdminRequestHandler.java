package io.herd.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import io.herd.core.WorkerInfo;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin API's routes with JSON (and Prometheus text for {@code /metrics}):
 *
 * <table>
 *   <caption>Routes</caption>
 *   <tr><th>Route</th><th>Answer</th></tr>
 *   <tr><td>{@code GET /health}</td><td>200 {@code {"status":"ok"}}, 503 while draining; never
 *       needs the token, so load balancers can probe it</td></tr>
 *   <tr><td>{@code GET /status}</td><td>pool figures, limits, counters, gateway facts</td></tr>
 *   <tr><td>{@code GET /workers}</td><td>live workers: id, pid, address, state, session</td></tr>
 *   <tr><td>{@code GET /sessions}</td><td>sessions: key, worker, pid, age, idle, leases</td></tr>
 *   <tr><td>{@code DELETE /sessions/{key}}</td><td>ends the session (404 if none)</td></tr>
 *   <tr><td>{@code GET /metrics}</td><td>Prometheus text exposition</td></tr>
 * </table>
 *
 * <p>Every route but {@code /health} requires the bearer token when one is configured. Stateless
 * and {@linkplain ChannelHandler.Sharable sharable}; runs on the admin event loop, where every
 * call it makes is a non-blocking snapshot or {@code pool.end}, which returns at once.
 */
@ChannelHandler.Sharable
final class AdminRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final Logger log = LoggerFactory.getLogger("herd.admin");
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final AdminTarget target;
  private final BearerToken token;

  AdminRequestHandler(AdminTarget target, BearerToken token) {
    this.target = target;
    this.token = token;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    FullHttpResponse resp;
    try {
      resp = route(req);
    } catch (RuntimeException e) {
      log.warn("admin request {} {} failed", req.method(), req.uri(), e);
      resp = json(HttpResponseStatus.INTERNAL_SERVER_ERROR, error(e.toString()));
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    HttpUtil.setKeepAlive(resp, keepAlive);
    resp.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    if (keepAlive) {
      ctx.writeAndFlush(resp);
    } else {
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("admin connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }

  private FullHttpResponse route(FullHttpRequest req) {
    String path = new QueryStringDecoder(req.uri()).path();
    HttpMethod method = req.method();
    if (path.equals("/health")) {
      return method.equals(HttpMethod.GET) ? health() : notAllowed("GET");
    }
    if (!token.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
      FullHttpResponse resp = json(HttpResponseStatus.UNAUTHORIZED,
          error("missing or wrong bearer token (expected: Authorization: Bearer <admin.token>)"));
      resp.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"herd\"");
      return resp;
    }
    switch (path) {
      case "/status":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, status())
            : notAllowed("GET");
      case "/workers":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, workers())
            : notAllowed("GET");
      case "/sessions":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, sessions())
            : notAllowed("GET");
      case "/metrics":
        return method.equals(HttpMethod.GET) ? metrics() : notAllowed("GET");
      default:
        break;
    }
    if (path.startsWith("/sessions/") && path.length() > "/sessions/".length()) {
      if (!method.equals(HttpMethod.DELETE)) {
        return notAllowed("DELETE");
      }
      String key = QueryStringDecoder.decodeComponent(path.substring("/sessions/".length()));
      boolean ended = target.pool().end(key);
      if (!ended) {
        return json(HttpResponseStatus.NOT_FOUND, error("no such session: " + key));
      }
      log.info("session {} ended through the admin API", key);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("key", key);
      body.put("ended", true);
      return json(HttpResponseStatus.OK, body);
    }
    return json(HttpResponseStatus.NOT_FOUND, error("no such route: " + path
        + " (expected: /health, /status, /workers, /sessions, /sessions/{key}, /metrics)"));
  }

  private FullHttpResponse health() {
    boolean draining = target.draining().getAsBoolean();
    return json(draining ? HttpResponseStatus.SERVICE_UNAVAILABLE : HttpResponseStatus.OK,
        Map.of("status", draining ? "draining" : "ok"));
  }

  private Map<String, Object> status() {
    PoolStats s = target.pool().stats();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("pool", target.pool().config().name());
    body.put("draining", target.draining().getAsBoolean());
    Map<String, Object> workers = new LinkedHashMap<>();
    workers.put("total", s.workers());
    workers.put("idle", s.idle());
    workers.put("busy", s.busy());
    workers.put("starting", s.starting());
    body.put("workers", workers);
    body.put("sessions", s.sessions());
    body.put("queued", s.queued());
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("min", target.pool().config().min());
    limits.put("max", target.pool().config().max());
    limits.put("warm", target.pool().config().warm());
    limits.put("maxQueue", target.pool().config().maxQueue());
    body.put("limits", limits);
    Map<String, Object> counters = new LinkedHashMap<>();
    counters.put("spawns", s.spawns());
    counters.put("spawnFailures", s.spawnFailures());
    counters.put("crashes", s.crashes());
    counters.put("evictions", s.evictions());
    counters.put("expirations", s.expirations());
    counters.put("acquireTimeouts", s.acquireTimeouts());
    counters.put("queueRejections", s.queueRejections());
    body.put("counters", counters);
    body.put("gateway", target.gateway().get());
    return body;
  }

  private Map<String, Object> workers() {
    List<Map<String, Object>> list = new ArrayList<>();
    for (WorkerInfo w : target.pool().workers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", w.id());
      m.put("pid", w.pid().isPresent() ? w.pid().getAsLong() : null);
      m.put("address", w.address().toString());
      m.put("state", w.state().name());
      m.put("session", w.sessionKey().orElse(null));
      m.put("sessionsServed", w.sessionsServed());
      list.add(m);
    }
    return Map.of("workers", list);
  }

  private Map<String, Object> sessions() {
    List<Map<String, Object>> list = new ArrayList<>();
    for (SessionInfo s : target.pool().sessions()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", s.key());
      m.put("workerId", s.workerId());
      m.put("pid", s.pid().isPresent() ? s.pid().getAsLong() : null);
      m.put("ageMs", s.age().toMillis());
      m.put("idleMs", s.idle().toMillis());
      m.put("openLeases", s.openLeases());
      list.add(m);
    }
    return Map.of("sessions", list);
  }

  private FullHttpResponse metrics() {
    byte[] text = target.scrape().get().getBytes(StandardCharsets.UTF_8);
    FullHttpResponse resp = new DefaultFullHttpResponse(
        HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(text));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, PROMETHEUS_TEXT);
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, text.length);
    return resp;
  }

  private static FullHttpResponse notAllowed(String allowed) {
    FullHttpResponse resp = json(HttpResponseStatus.METHOD_NOT_ALLOWED,
        error("method not allowed (expected: " + allowed + ")"));
    resp.headers().set(HttpHeaderNames.ALLOW, allowed);
    return resp;
  }

  private static Map<String, Object> error(String message) {
    return Map.of("error", message);
  }

  private static FullHttpResponse json(HttpResponseStatus status, Object body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
    FullHttpResponse resp = new DefaultFullHttpResponse(
        HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    return resp;
  }
}
