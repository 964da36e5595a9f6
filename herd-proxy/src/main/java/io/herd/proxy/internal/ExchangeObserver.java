package io.herd.proxy.internal;

import io.herd.proxy.AccessLogEntry;
import io.herd.proxy.AccessLogListener;
import io.herd.proxy.CompletedExchange;
import io.herd.proxy.ExchangeListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits between the HTTP codec and the frontend handler of a client connection and reports each
 * exchange to an {@link ExchangeListener} (metrics) and an {@link AccessLogListener} (the access
 * log), either of which may be absent: the request head starts it, the response head gives its
 * status, the response's last content (or a 101, or the connection's close) ends it. It only
 * looks at messages as they pass; it never holds, changes or releases one.
 *
 * <p>The outcome says who answered: the worker, or the gateway itself for the reason its answer
 * carries ({@link ErrorResponses.GatewayAnswer}). The frontend tells it where an exchange was
 * routed ({@link #forwardedTo}, {@link #arrivedForwarded}) and which session it belongs to and
 * which worker serves it ({@link #admitted}, {@link #leased}); the cold start is read from the
 * {@code X-Herd-Cold-Start} header of the response head. Body bytes are counted both ways as the
 * contents pass. Durations are read from the event loop's ticker, the access log's timestamp from
 * a wall clock.
 *
 * <p>Pipelined requests queue up in order, as HTTP/1.1 answers them. After a protocol switch the
 * codec is gone: the exchange listener was told at the 101 (a tunnel's life is not a request's
 * latency), while the access log entry stays open, counts the raw bytes that pass both ways and is
 * written when the connection closes. Not thread-safe: confined to its channel's event loop, one
 * instance per connection.
 */
public final class ExchangeObserver extends ChannelDuplexHandler {

  private static final Logger log = LoggerFactory.getLogger(ExchangeObserver.class);
  private static final String COLD_START = "X-Herd-Cold-Start";

  /** An exchange in progress; not thread-safe, event-loop confined. */
  private static final class Pending {
    final String method;
    final long startNanos;
    final Instant time;
    String path = "-";
    String protocol = "-";
    String userAgent;
    String referer;
    int status;
    String outcome = CompletedExchange.NONE;
    String forwardedTo;
    /** The pool the request was routed to; null until (and unless) one was selected. */
    String pool;
    boolean forwardedHop;
    String session;
    String worker;
    long coldStartMillis = -1;
    long requestBytes;
    long responseBytes;

    Pending(String method, long startNanos, Instant time) {
      this.method = method;
      this.startNanos = startNanos;
      this.time = time;
    }
  }

  /** Null for none. */
  private final ExchangeListener listener;
  /** Null for none. */
  private final AccessLogListener accessLog;
  private final Clock clock;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private boolean switched;
  /** The switched exchange, written to the access log when the tunnel closes; else null. */
  private Pending tunnel;
  private String client;

  public ExchangeObserver(ExchangeListener listener) {
    this(listener, null, Clock.systemUTC());
  }

  /**
   * @param listener told of each exchange when its response is over (a switch: at the 101); null
   *     for none
   * @param accessLog told of each request when it is completely over (a switch: when the tunnel
   *     closes); null for none
   * @param clock the wall clock of the access log's timestamps
   */
  public ExchangeObserver(ExchangeListener listener, AccessLogListener accessLog, Clock clock) {
    this.listener = listener;
    this.accessLog = accessLog;
    this.clock = clock;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    client(ctx); // while the remote address is surely known
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (switched) {
      if (tunnel != null) {
        tunnel.requestBytes += readable(msg);
      }
    } else {
      if (msg instanceof HttpRequest req) {
        pending.addLast(started(ctx, req));
      }
      if (msg instanceof HttpContent content && !pending.isEmpty()) {
        pending.peekLast().requestBytes += content.content().readableBytes();
      }
    }
    ctx.fireChannelRead(msg);
  }

  private Pending started(ChannelHandlerContext ctx, HttpRequest req) {
    Pending p = new Pending(req.method().name(), ctx.executor().ticker().nanoTime(),
        accessLog != null ? clock.instant() : Instant.EPOCH);
    if (accessLog != null && req.decoderResult().isSuccess()) {
      // Read now: the frontend rewrites the target and headers for the worker.
      p.path = pathOf(req.uri());
      p.protocol = req.protocolVersion().text();
      p.userAgent = req.headers().get(HttpHeaderNames.USER_AGENT);
      p.referer = req.headers().get(HttpHeaderNames.REFERER);
    }
    return p;
  }

  /** The path of a request target, without query or fragment; absolute-form loses its origin. */
  static String pathOf(String uri) {
    int start = 0;
    int scheme = uri.indexOf("://");
    if (scheme > 0 && !uri.startsWith("/")) {
      int slash = uri.indexOf('/', scheme + 3);
      if (slash < 0) {
        return "/";
      }
      start = slash;
    }
    int end = uri.length();
    int q = uri.indexOf('?', start);
    if (q >= 0) {
      end = q;
    }
    int h = uri.indexOf('#', start);
    if (h >= 0 && h < end) {
      end = h;
    }
    return end > start ? uri.substring(start, end) : "-";
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!switched) {
      observe(ctx, msg);
    } else if (tunnel != null) {
      tunnel.responseBytes += readable(msg);
    }
    ctx.write(msg, promise);
  }

  private static long readable(Object msg) {
    if (msg instanceof ByteBuf buf) {
      return buf.readableBytes();
    }
    if (msg instanceof ByteBufHolder holder) {
      return holder.content().readableBytes();
    }
    return 0;
  }

  private void observe(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse resp) {
      int code = resp.status().code();
      if (code == HttpResponseStatus.CONTINUE.code()) {
        return; // an interim answer to Expect: 100-continue, not the exchange's status
      }
      Pending p = pending.peekFirst();
      if (p == null) {
        // A request that never parsed (431, 408 for a head that never ended).
        p = new Pending("-", ctx.executor().ticker().nanoTime(),
            accessLog != null ? clock.instant() : Instant.EPOCH);
        pending.addFirst(p);
      }
      p.status = code;
      p.outcome = msg instanceof ErrorResponses.GatewayAnswer answer
          ? answer.outcome() : CompletedExchange.WORKER;
      String cold = RawResponseHead.header(resp, COLD_START); // without materializing a raw head
      if (cold != null) {
        try {
          p.coldStartMillis = Long.parseLong(cold);
        } catch (NumberFormatException e) {
          p.coldStartMillis = -1; // a worker's own header of that name, not the gateway's
        }
      }
      if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
        switched = true;
        tunnel = pending.peekFirst();
        completeExchange(ctx, tunnel);
        pending.pollFirst();
        return;
      }
    }
    Pending current = pending.peekFirst();
    if (msg instanceof HttpContent content && current != null && current.status != 0) {
      current.responseBytes += content.content().readableBytes();
    }
    if (msg instanceof LastHttpContent && current != null && current.status != 0) {
      complete(ctx);
    }
  }

  /**
   * The exchange being answered goes to peer gateway {@code node}. Called by the frontend on the
   * loop; the exchange being answered is the oldest pending one, since HTTP/1.1 answers in order
   * and an exchange completes when its last piece is written.
   */
  void forwardedTo(String node) {
    Pending p = pending.peekFirst();
    if (p != null && p.status == 0) {
      p.forwardedTo = node;
    }
  }

  /**
   * The exchange being answered belongs to session {@code key} (as the pool knows it). When
   * {@code signed}, the client sent a signed key {@code key.<signature>}: a path segment holding it
   * is logged as the bare id, so the access log never carries the credential.
   */
  void admitted(String key, boolean signed) {
    Pending p = pending.peekFirst();
    if (p != null && p.status == 0) {
      p.session = key;
      if (signed && key != null) {
        p.path = redactSignedKey(p.path, key);
      }
    }
  }

  /** {@code path} with every segment that starts with {@code id.} replaced by {@code id}. */
  static String redactSignedKey(String path, String id) {
    String prefix = id + ".";
    if (!path.contains(prefix)) {
      return path;
    }
    String[] segments = path.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (segments[i].startsWith(prefix)) {
        segments[i] = id;
      }
    }
    return String.join("/", segments);
  }

  /** The exchange being answered is served by worker {@code workerId}. */
  void leased(String workerId) {
    Pending p = pending.peekFirst();
    if (p != null && p.status == 0) {
      p.worker = workerId;
    }
  }

  /** The exchange being answered arrived as a valid hop from a peer gateway. */
  /** The current exchange was routed to pool {@code name}. */
  void routedTo(String name) {
    Pending p = pending.peekFirst();
    if (p != null) {
      p.pool = name;
    }
  }

  void arrivedForwarded() {
    Pending p = pending.peekFirst();
    if (p != null && p.status == 0) {
      p.forwardedHop = true;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (tunnel != null) {
      Pending t = tunnel;
      tunnel = null;
      completeAccess(ctx, t);
    }
    while (!pending.isEmpty()) {
      complete(ctx);
    }
    ctx.fireChannelInactive();
  }

  /** The oldest exchange is over: both listeners hear of it. */
  private void complete(ChannelHandlerContext ctx) {
    Pending p = pending.pollFirst();
    completeExchange(ctx, p);
    completeAccess(ctx, p);
  }

  private void completeExchange(ChannelHandlerContext ctx, Pending p) {
    if (listener == null) {
      return;
    }
    try {
      listener.exchangeCompleted(new CompletedExchange(p.method, p.status,
          Duration.ofNanos(ctx.executor().ticker().nanoTime() - p.startNanos), p.outcome,
          p.forwardedTo, p.forwardedHop, p.pool));
    } catch (RuntimeException e) {
      log.warn("exchange listener {} threw; ignored", listener, e);
    }
  }

  private void completeAccess(ChannelHandlerContext ctx, Pending p) {
    if (accessLog == null) {
      return;
    }
    try {
      accessLog.requestCompleted(new AccessLogEntry(p.time, client(ctx), p.method, p.path,
          p.protocol, p.status, p.requestBytes, p.responseBytes,
          Duration.ofNanos(ctx.executor().ticker().nanoTime() - p.startNanos), p.session,
          p.worker, p.coldStartMillis, p.outcome, p.status == 101, p.userAgent,
          p.referer));
    } catch (RuntimeException e) {
      log.warn("access log listener {} threw; ignored", accessLog, e);
    }
  }

  private String client(ChannelHandlerContext ctx) {
    if (client == null) {
      SocketAddress remote = ctx.channel().remoteAddress();
      client = remote instanceof InetSocketAddress inet && inet.getAddress() != null
          ? inet.getAddress().getHostAddress() : String.valueOf(remote);
    }
    return client;
  }
}
