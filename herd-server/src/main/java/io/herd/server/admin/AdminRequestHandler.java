package io.herd.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.herd.core.PoolStats;
import io.herd.core.SessionInfo;
import io.herd.core.SessionPool;
import io.herd.core.WorkerInfo;
import io.herd.proxy.SessionKeys;
import io.herd.server.BuildInfo;
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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin API's routes with JSON (and Prometheus text for {@code /metrics}):
 *
 * <table>
 *   <caption>Routes</caption>
 *   <tr><th>Route</th><th>Answer</th></tr>
 *   <tr><td>{@code GET /health/live}</td><td>200 {@code {"status":"ok"}} while the process
 *       serves</td></tr>
 *   <tr><td>{@code GET /health/ready}</td><td>200 {@code {"status":"ready"}} when new sessions
 *       can be served, else 503 {@code {"status":"not_ready","reason":...}}: see {@link
 *       Readiness}</td></tr>
 *   <tr><td>{@code GET /health}</td><td>200 {@code {"status":"ok"}}, 503 while draining or after
 *       repeated spawn failures; in a cluster also 200 {@code "degraded"} while etcd is
 *       unreachable (sessions of this gateway are still served) and 503 {@code "fenced"} while
 *       this gateway serves nothing. The three probes never need the token, so load balancers
 *       and orchestrators can call them</td></tr>
 *   <tr><td>{@code GET /version}</td><td>version, git commit, Java version</td></tr>
 *   <tr><td>{@code GET /status}</td><td>pool figures, limits, counters, gateway facts, the
 *       cluster's state (null outside a cluster)</td></tr>
 *   <tr><td>{@code GET /cluster}</td><td>state, this node, every node (advertise address, free
 *       workers, max, self), cluster counters; 404 outside a cluster</td></tr>
 *   <tr><td>{@code GET /workers}</td><td>live workers: id, pid, address, state, session</td></tr>
 *   <tr><td>{@code GET /sessions}</td><td>this gateway's sessions: id, worker, pid, age, idle,
 *       leases, owner node (null outside a cluster)</td></tr>
 *   <tr><td>{@code DELETE /sessions/{id}}</td><td>ends the session (404 if none)</td></tr>
 *   <tr><td>{@code GET /sessions/{id}/logs?tail=N}</td><td>plain text: the recent stdout and
 *       stderr lines of the session's worker, interleaved ({@link SessionLogs}); 404 if
 *       none</td></tr>
 *   <tr><td>{@code POST /workers/{id}/drain}</td><td>drains the worker: it takes no new
 *       session and stops once its session ends (404 if none)</td></tr>
 *   <tr><td>{@code GET /metrics}</td><td>Prometheus text exposition</td></tr>
 *   <tr><td>{@code POST /reload}</td><td>re-reads the config file and applies what can change
 *       live; see {@link ReloadAnswers}. Answered when the reload is done, which runs off the
 *       event loop</td></tr>
 * </table>
 *
 * <p>Requests reach this handler only past {@link AdminAccessHandler} (Host, Origin, fetch
 * metadata). Every route but the {@code /health} probes then requires the bearer token when one is
 * configured. Sessions are named as {@link SessionIds} decides — never by a full signed key —
 * and the id in {@code DELETE /sessions/{id}} is percent-decoded exactly once, so {@code a%252Fb}
 * names the session {@code a%2Fb}, never {@code a/b}.
 *
 * <p>Stateless and {@linkplain ChannelHandler.Sharable sharable}; runs on the admin event loop,
 * where every call it makes is a non-blocking snapshot, {@code pool.end} or {@code pool.drain},
 * which return at once.
 */
@ChannelHandler.Sharable
final class AdminRequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final Logger log = LoggerFactory.getLogger("herd.admin");
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  private static final String SESSION_PREFIX = "/sessions/";
  private static final String WORKER_PREFIX = "/workers/";
  private static final String DRAIN_SUFFIX = "/drain";

  /** What {@link #route} answers for {@code POST /reload}: answered later, by the reload. */
  private static final FullHttpResponse RELOAD =
      new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.ACCEPTED,
          Unpooled.EMPTY_BUFFER);

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
    if (resp == RELOAD) {
      // Answered once the reload (file I/O, applying) is done on its own thread; the
      // connection reads nothing more meanwhile, so answers stay in the order of requests.
      ctx.channel().config().setAutoRead(false);
      target.reload().orElseThrow().get().thenAccept(outcome -> ctx.executor().execute(() -> {
        write(ctx, json(ReloadAnswers.status(outcome), ReloadAnswers.body(outcome)), keepAlive);
        ctx.channel().config().setAutoRead(true);
      }));
      return;
    }
    write(ctx, resp, keepAlive);
  }

  private static void write(ChannelHandlerContext ctx, FullHttpResponse resp, boolean keepAlive) {
    HttpUtil.setKeepAlive(resp, keepAlive);
    resp.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    resp.headers().set("X-Content-Type-Options", "nosniff");
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
    String uri = req.uri();
    if (!uri.startsWith("/")) {
      return json(HttpResponseStatus.BAD_REQUEST, error("request target is not a path: " + uri
          + " (expected: origin-form, e.g. /sessions)"));
    }
    // The raw path, still percent-encoded: routes are matched on it and a session key in it is
    // decoded exactly once, below. (QueryStringDecoder.path() decodes, so a key decoded again
    // from it would turn a%252Fb into a/b: another session.)
    String path = rawPath(uri);
    HttpMethod method = req.method();
    switch (path) {
      case "/health":
        return method.equals(HttpMethod.GET) ? probe(Readiness.legacy(target)) : notAllowed("GET");
      case "/health/live":
        return method.equals(HttpMethod.GET) ? probe(Readiness.live()) : notAllowed("GET");
      case "/health/ready":
        return method.equals(HttpMethod.GET) ? probe(Readiness.ready(target)) : notAllowed("GET");
      default:
        break;
    }
    if (!token.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
      FullHttpResponse resp = json(HttpResponseStatus.UNAUTHORIZED,
          error("missing or wrong bearer token (expected: Authorization: Bearer <admin.token>)"));
      resp.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"herd\"");
      return resp;
    }
    // Every pool, or the one named by ?pool= or /pools/<name>/...
    Map<String, SessionPool> pools = target.pools();
    String only = PoolViews.queryPool(uri);
    if (path.startsWith(PoolViews.PREFIX)) {
      String[] parts = path.substring(PoolViews.PREFIX.length()).split("/", -1);
      only = parts[0];
      path = parts.length == 1 ? "/status" : parts.length == 2 ? "/" + parts[1] : path;
    }
    if (only != null) {
      if (!pools.containsKey(only)) {
        return json(HttpResponseStatus.NOT_FOUND, error("no such pool: " + only
            + " (expected one of: " + String.join(", ", pools.keySet()) + ")"));
      }
      pools = Map.of(only, pools.get(only));
    }
    switch (path) {
      case "/pools":
        return method.equals(HttpMethod.GET)
            ? json(HttpResponseStatus.OK, PoolViews.list(target.pools())) : notAllowed("GET");
      case "/status":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, status(pools))
            : notAllowed("GET");
      case "/workers":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, workers(pools))
            : notAllowed("GET");
      case "/sessions":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, sessions(pools))
            : notAllowed("GET");
      case "/metrics":
        return method.equals(HttpMethod.GET) ? metrics() : notAllowed("GET");
      case "/cluster":
        return method.equals(HttpMethod.GET) ? cluster() : notAllowed("GET");
      case "/version":
        return method.equals(HttpMethod.GET) ? json(HttpResponseStatus.OK, version())
            : notAllowed("GET");
      case "/reload":
        if (!method.equals(HttpMethod.POST)) {
          return notAllowed("POST");
        }
        return target.reload().isPresent() ? RELOAD
            : json(HttpResponseStatus.CONFLICT, ReloadAnswers.noFile());
      default:
        break;
    }
    if (path.startsWith(SESSION_PREFIX) && path.endsWith(SessionLogs.SUFFIX)
        && path.length() > SESSION_PREFIX.length() + SessionLogs.SUFFIX.length()) {
      if (!method.equals(HttpMethod.GET)) {
        return notAllowed("GET");
      }
      String encoded = path.substring(SESSION_PREFIX.length(),
          path.length() - SessionLogs.SUFFIX.length());
      try {
        return sessionLogs(SessionLogs.answer(target, SessionKeys.decode(encoded), uri));
      } catch (IllegalArgumentException e) {
        return json(HttpResponseStatus.BAD_REQUEST, error("session key is not validly"
            + " percent-encoded: " + encoded + " (expected: %XX escapes of UTF-8 bytes)"));
      }
    }
    if (path.startsWith(SESSION_PREFIX) && path.length() > SESSION_PREFIX.length()) {
      if (!method.equals(HttpMethod.DELETE)) {
        return notAllowed("DELETE");
      }
      String encoded = path.substring(SESSION_PREFIX.length());
      String name;
      try {
        name = SessionKeys.decode(encoded); // the gateway's own decoding: one notion of a key
      } catch (IllegalArgumentException e) {
        return json(HttpResponseStatus.BAD_REQUEST, error("session key is not validly"
            + " percent-encoded: " + encoded + " (expected: %XX escapes of UTF-8 bytes, e.g."
            + " a%2Fb for a/b)"));
      }
      return end(name, pools);
    }
    if (path.startsWith(WORKER_PREFIX) && path.endsWith(DRAIN_SUFFIX)
        && path.length() > WORKER_PREFIX.length() + DRAIN_SUFFIX.length()) {
      if (!method.equals(HttpMethod.POST)) {
        return notAllowed("POST");
      }
      return drain(path.substring(WORKER_PREFIX.length(), path.length() - DRAIN_SUFFIX.length()),
          pools);
    }
    return json(HttpResponseStatus.NOT_FOUND, error("no such route: " + path
        + " (expected: /, /events, /health, /health/live, /health/ready, /version, /status,"
        + " /cluster, /workers, /workers/{id}/drain, /sessions, /sessions/{key},"
        + " /sessions/{key}/logs, /metrics, /reload, /pools, /pools/{name}/status|workers|sessions)"));
  }

  /**
   * Drains worker {@code id} of {@code pools} (every pool, or the one {@code ?pool=} names): no
   * new session, stopped once its session (if any) ends. Worker ids are unique within a pool
   * only, so an id that several of them have is refused rather than guessed.
   */
  private FullHttpResponse drain(String id, Map<String, SessionPool> pools) {
    List<String> having = pools.entrySet().stream()
        .filter(p -> p.getValue().workers().stream().anyMatch(w -> w.id().equals(id)))
        .map(Map.Entry::getKey).toList();
    if (having.size() > 1) {
      return json(HttpResponseStatus.CONFLICT, error("worker " + id + " is in several pools: "
          + String.join(", ", having) + " (expected: ?pool=NAME)"));
    }
    if (having.isEmpty() || !pools.get(having.get(0)).drain(id)) {
      return json(HttpResponseStatus.NOT_FOUND, error("no such worker: " + id
          + " (expected: the id of a running worker, as GET /workers lists them)"));
    }
    log.atInfo().addKeyValue("worker", id)
        .log("worker {} of pool {} drained through the admin API", id, having.get(0));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("pool", having.get(0));
    body.put("worker", id);
    body.put("draining", true);
    return json(HttpResponseStatus.OK, body);
  }

  /** Ends the session {@code name} (an id, or a full signed key) names. */
  private FullHttpResponse end(String name, Map<String, SessionPool> pools) {
    SessionIds ids = target.ids();
    for (String key : ids.poolKeysFor(name)) {
      if (pools.values().stream().anyMatch(p -> p.end(key))) {
        String shown = ids.shown(key);
        log.atInfo().addKeyValue("session", shown)
            .log("session {} ended through the admin API", shown);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("key", shown);
        body.put("ended", true);
        return json(HttpResponseStatus.OK, body);
      }
    }
    Optional<String> elsewhere = target.cluster().flatMap(c -> ids.poolKeysFor(name).stream()
        .map(c.owner()).flatMap(Optional::stream).findFirst());
    if (elsewhere.isPresent()) {
      return json(HttpResponseStatus.NOT_FOUND, error("no such session on this gateway: "
          + ids.shown(name) + " (expected: end it through the admin API of gateway "
          + elsewhere.get() + ", which serves it)"));
    }
    return json(HttpResponseStatus.NOT_FOUND, error("no such session: " + ids.shown(name)));
  }

  /** The path of an origin-form target, without query or fragment, not decoded. */
  private static String rawPath(String uri) {
    int end = uri.length();
    int q = uri.indexOf('?');
    if (q >= 0) {
      end = q;
    }
    int h = uri.indexOf('#');
    if (h >= 0 && h < end) {
      end = h;
    }
    return uri.substring(0, end);
  }

  private static FullHttpResponse probe(Readiness.Answer answer) {
    return json(answer.ok() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
        answer.body());
  }

  private static Map<String, Object> version() {
    BuildInfo build = BuildInfo.current();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("version", build.version());
    body.put("commit", build.commit());
    body.put("java", build.java());
    return body;
  }

  private FullHttpResponse cluster() {
    if (target.cluster().isEmpty()) {
      return json(HttpResponseStatus.NOT_FOUND, error("this gateway is not in a cluster"
          + " (expected: a cluster: section in its configuration)"));
    }
    return json(HttpResponseStatus.OK, ClusterAnswers.cluster(target.cluster().get()));
  }

  private Map<String, Object> status(Map<String, SessionPool> pools) {
    if (pools.size() > 1) {
      Map<String, Object> body = PoolViews.totals(pools);
      body.put("draining", target.draining().getAsBoolean());
      body.put("gateway", target.gateway().get());
      body.put("cluster", null); // cluster: needs the single-pool form
      return body;
    }
    SessionPool pool = pools.values().iterator().next();
    PoolStats s = pool.stats();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("pool", pool.config().name());
    body.put("draining", target.draining().getAsBoolean());
    Map<String, Object> workers = new LinkedHashMap<>();
    workers.put("total", s.workers());
    workers.put("idle", s.idle());
    workers.put("busy", s.busy());
    workers.put("starting", s.starting());
    body.put("workers", workers);
    body.put("sessions", s.sessions());
    body.put("suspended", s.suspended());
    body.put("queued", s.queued());
    body.put("limits", PoolFigures.limits(pool.config()));
    body.put("counters", PoolFigures.counters(s));
    body.put("gateway", target.gateway().get());
    body.put("cluster", target.cluster()
        .map(c -> ClusterAnswers.summary(c.status().get())).orElse(null));
    return body;
  }

  private Map<String, Object> workers(Map<String, SessionPool> pools) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (Map.Entry<String, SessionPool> pool : pools.entrySet()) {
    for (WorkerInfo w : pool.getValue().workers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("pool", pool.getKey());
      m.put("id", w.id());
      m.put("pid", w.pid().isPresent() ? w.pid().getAsLong() : null);
      m.put("address", w.address().toString());
      m.put("state", w.state().name());
      m.put("session", w.sessionKey().map(target.ids()::shown).orElse(null));
      m.put("sessionsServed", w.sessionsServed());
      m.put("draining", w.draining());
      list.add(m);
    }
    }
    return Map.of("workers", list);
  }

  private Map<String, Object> sessions(Map<String, SessionPool> pools) {
    // Every session of this pool is this node's: the cluster claimed it for this gateway.
    String owner = target.cluster().map(c -> c.status().get().node()).orElse(null);
    List<Map<String, Object>> list = new ArrayList<>();
    for (Map.Entry<String, SessionPool> pool : pools.entrySet()) {
      for (SessionInfo s : pool.getValue().sessions()) {
        list.add(PoolFigures.session(pool.getKey(), s, target.ids(), owner));
      }
    }
    return Map.of("sessions", list);
  }

  /** A session's worker output as plain text, or its error as JSON like every other error. */
  private static FullHttpResponse sessionLogs(SessionLogs.Answer answer) {
    if (answer.text() == null) {
      return json(answer.status(), error(answer.error()));
    }
    byte[] text = answer.text().getBytes(StandardCharsets.UTF_8);
    FullHttpResponse resp = new DefaultFullHttpResponse(
        HttpVersion.HTTP_1_1, answer.status(), Unpooled.wrappedBuffer(text));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, text.length);
    resp.headers().set(SessionLogs.NEXT_HEADER, Long.toString(answer.next()));
    return resp;
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
