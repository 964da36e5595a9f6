package io.herd.proxy.internal;

import io.herd.core.Worker;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of the gateway: one per client connection, it turns each request into an
 * exchange (validate, wait for the session's turn, acquire a lease, take a worker connection,
 * stream both ways, close the lease) and keeps the connection alive between exchanges.
 *
 * <p>Design. The work is split along its jobs, all confined to the client connection's event
 * loop (the worker connection is registered on the same loop), so no state needs a lock;
 * callbacks from other threads (the pool's lease future) hop onto the loop first.
 *
 * <ul>
 *   <li>this class: the connection's life ({@link State}) and each exchange's life ({@link
 *       Exchange.Phase}): admission, lease, worker connection, the one place an exchange ends
 *       ({@link #endExchange}), and the gateway's own answers;
 *   <li>{@link ConnectionTimers}: the one deadline armed at a time (header, idle, body, response);
 *   <li>{@link RequestForwarder}: the client's bytes to the worker, with read flow control;
 *   <li>{@link ResponseRelay}: the worker's response to the client, one per request, with flow
 *       control towards the worker.
 * </ul>
 *
 * <p>Every exchange ends exactly once in {@link #endExchange}: the lease closes, the session's
 * turn passes on, and the worker connection goes back to the pool only when the request was sent
 * completely, the response read completely and nothing followed it, and the worker keeps it
 * alive.
 *
 * <p>Every refusal is a complete status line. When the connection then closes with the client
 * possibly still sending (a refused or early-answered request), it closes through {@link
 * LingeringClose}, so that the answer is not lost to a reset.
 *
 * <p>Lifetime: from the connection's activation until it closes, or until a protocol switch hands
 * the connection to {@link TunnelHandler}s.
 */
public final class ProxyFrontendHandler extends ChannelInboundHandlerAdapter
    implements LeaseAcquirer.Callback {

  private static final Logger log = LoggerFactory.getLogger(ProxyFrontendHandler.class);

  /** Where the connection is in its life. */
  private enum State {
    /** Open, no byte received yet: the header deadline runs, and expires quietly. */
    NEW,
    /** Between exchanges on a kept-alive connection: the idle deadline runs. */
    IDLE,
    /** A request head started arriving: the header deadline runs, then 408. */
    HEAD,
    /** An exchange runs ({@link #ex}). */
    EXCHANGE,
    /** Closing, or handed over to a tunnel: everything that arrives is dropped. */
    CLOSED
  }

  /** The gateway's first pool: its options, clients and hops are every pool's. */
  private final GatewayContext gw;
  private final PoolSelector pools;
  private ChannelHandlerContext ctx;
  private ConnectionTimers timers;
  private RequestForwarder requests;
  private ResponseRelay responses;
  private ClientPeer peer;
  /**
   * Told where exchanges were routed, their session and worker, when an exchange listener or an
   * access log is set; else null.
   */
  private ExchangeObserver observer;
  private State state = State.NEW;
  private Exchange ex;
  /** The gateway is draining: close once the current exchange is over. */
  private boolean drainRequested;

  public ProxyFrontendHandler(GatewayContext gw) {
    this(PoolSelector.of(java.util.List.of(gw)));
  }

  public ProxyFrontendHandler(PoolSelector pools) {
    this.pools = pools;
    this.gw = pools.first();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.timers = new ConnectionTimers(ctx.channel().eventLoop(), this::onDeadline);
    this.requests = new RequestForwarder(this, gw, ctx, timers);
    this.responses = new ResponseRelay(this, gw, ctx, timers);
    this.observer = ctx.pipeline().get(ExchangeObserver.class);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    peer = ClientPeer.of(ctx.channel(), gw.options.trusted());
    timers.arm(ConnectionTimers.Kind.HEADER, gw.timeouts().header());
    ctx.fireChannelActive();
  }

  /** Called on the loop when the gateway drains: close now if idle, else after this exchange. */
  public void drain() {
    drainRequested = true;
    if ((state == State.NEW || state == State.IDLE) && !requests.hasQueued()) {
      closeNow();
    }
  }

  /** The exchange in progress, or null. */
  Exchange current() {
    return ex;
  }

  ClientPeer peer() {
    return peer;
  }

  /** Whether the connection closes after the current exchange (the gateway drains). */
  boolean closing() {
    return drainRequested || gw.draining();
  }

  // ---- client input ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpObject) || state == State.CLOSED) {
      ReferenceCountUtil.release(msg);
      return;
    }
    // Queued only: the decoder fires everything one socket read produced before
    // channelReadComplete, so a head is looked at together with what came with it.
    requests.enqueue((HttpObject) msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    process();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == StrictRequestDecoder.HEAD_STARTED && (state == State.NEW || state == State.IDLE)) {
      state = State.HEAD;
      timers.arm(ConnectionTimers.Kind.HEADER, gw.timeouts().header());
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Moves queued client messages forward as far as the state allows; reads more if needed. */
  private void process() {
    while (true) {
      switch (state) {
        case NEW, IDLE, HEAD -> {
          HttpObject msg = requests.poll();
          if (msg == null) {
            requests.resumeReading();
            return;
          }
          if (msg instanceof HttpRequest req) {
            startExchange(req);
          } else {
            // The rest of a request whose exchange already ended; its connection is closing.
            ReferenceCountUtil.release(msg);
            closeNow();
            return;
          }
        }
        case EXCHANGE -> {
          requests.pump(ex);
          return;
        }
        default -> {
          requests.releaseAll();
          return;
        }
      }
    }
  }

  // ---- admission: validate, take a turn, acquire a lease, connect ----

  private void startExchange(HttpRequest req) {
    timers.disarm();
    RequestAdmission.Decision d;
    try {
      d = RequestAdmission.decide(pools, req, peer);
    } catch (RuntimeException bug) {
      log.warn("admitting a request from {} failed; answering 500", peer.ip(), bug);
      d = new RequestAdmission.Decision(null, ErrorResponses.of(UpstreamFailure.INTERNAL, 0));
    }
    // A head the decoder refused carries the method the client sent (its request line passed
    // the strict scan) or a placeholder GET.
    boolean head = HttpMethod.HEAD.equals(req.method());
    if (d.refusal() != null) {
      respondAndClose(forMethod(d.refusal(), head));
      return;
    }
    Throwable malformedBody = requests.failureInCurrentRequest();
    if (malformedBody != null) {
      // A malformed body piece came with the head: nothing of this request goes on.
      respondAndClose(forMethod(ErrorResponses.forMalformed(malformedBody), head));
      return;
    }
    Exchange e = d.exchange();
    e.closeAfter |= closing();
    if (observer != null) {
      observer.admitted(e.key, e.route.signer != null);
      observer.routedTo(e.route.name);
      if (e.forwardedHop) {
        observer.arrivedForwarded();
      }
    }
    ex = e;
    state = State.EXCHANGE;
    try {
      e.route.leases.acquire(e, ctx.channel().eventLoop(), this);
    } catch (RuntimeException bug) {
      log.warn("acquiring a lease for session {} failed; answering 500", e.key, bug);
      fail(UpstreamFailure.INTERNAL);
    }
  }

  @Override
  public void onLease(Exchange e) {
    if (ex == e) {
      if (observer != null) {
        observer.leased(e.lease.worker().id());
      }
      UpstreamFailure refused = PeerHops.prepare(gw, e, observer);
      if (refused != null) {
        fail(refused); // ends the exchange and closes its lease: nothing goes on
        return;
      }
      connectUpstream(e, false);
    } else {
      e.lease.close(); // unreachable while ended exchanges are filtered by the acquirer
      e.lease = null;
    }
  }

  @Override
  public void onFailure(Exchange e, UpstreamFailure failure, Throwable cause) {
    if (ex == e) {
      refuse(ErrorResponses.of(failure, cause, gw.retryAfterSeconds));
    }
  }

  private void connectUpstream(Exchange e, boolean retry) {
    e.phase = Exchange.Phase.CONNECTING;
    Worker worker = e.lease.worker();
    EventLoop loop = ctx.channel().eventLoop();
    Channel pooled = retry ? null : e.route.upstreams.pollIdle(worker, loop);
    if (pooled != null) {
      e.source = Exchange.Upstream.POOLED;
      upstreamReady(e, pooled);
      return;
    }
    e.source = retry ? Exchange.Upstream.RETRY : Exchange.Upstream.FRESH;
    ChannelFuture connect = e.route.upstreams.connect(worker, loop);
    if (UpstreamPool.notCreated(connect)) {
      // No socket at all (no file descriptor left): nothing to close, a 503 to answer.
      log.debug("connect to worker {} failed: {}", worker.id(), connect.cause().toString());
      fail(UpstreamFailure.classify(connect.cause()));
      return;
    }
    e.upstream = connect.channel();
    connect.addListener((ChannelFutureListener) f -> {
      if (ex != e || e.ended()) {
        f.channel().close();
      } else if (!f.isSuccess()) {
        log.debug("connect to worker {} failed: {}", worker.id(), f.cause().toString());
        fail(UpstreamFailure.classify(f.cause()));
      } else {
        upstreamReady(e, f.channel());
      }
    });
  }

  private void upstreamReady(Exchange e, Channel up) {
    e.upstream = up;
    responses.attach(e);
    requests.startForwarding(e);
  }

  /** A pooled worker connection died before answering a request safe to repeat: once more. */
  void retry(Exchange e) {
    timers.disarm();
    e.upstream = null;
    e.response = Exchange.ResponsePhase.AWAITING;
    connectUpstream(e, true);
  }

  /** The whole request reached the worker. */
  void requestSent(Exchange e) {
    e.request = Exchange.RequestPhase.SENT;
    if (e.canAnswer()) {
      timers.arm(ConnectionTimers.Kind.RESPONSE, gw.timeouts().response());
    }
    maybeFinish();
  }

  /** The whole response reached the client. */
  void responseSent(Exchange e) {
    maybeFinish();
  }

  // ---- the end of an exchange ----

  private void maybeFinish() {
    Exchange e = ex;
    if (e == null || e.response != Exchange.ResponsePhase.SENT) {
      return;
    }
    boolean reusable = e.upstreamKeepAlive && e.request == Exchange.RequestPhase.SENT;
    boolean requestUnread = e.request != Exchange.RequestPhase.SENT;
    ex = null;
    try {
      endExchange(e, reusable);
    } catch (RuntimeException | Error bug) {
      // Called from a write listener: an escaping error would leave the connection wedged.
      log.warn("ending the exchange of session {} failed; closing the connection", e.key, bug);
      closeNow();
      return;
    }
    if (requestUnread) {
      closeLingering(); // answered before the whole request arrived: the rest is unread
      return;
    }
    if (e.closeAfter || closing()) {
      closeLingering();
      return;
    }
    ClientRequestDecoder decoder = ctx.pipeline().get(ClientRequestDecoder.class);
    if (decoder != null && decoder.midHead()) {
      state = State.HEAD; // the next request already started arriving
      timers.arm(ConnectionTimers.Kind.HEADER, gw.timeouts().header());
    } else {
      state = State.IDLE;
      timers.arm(ConnectionTimers.Kind.IDLE, gw.timeouts().idle());
    }
    process();
  }

  /** Ends {@code e} once: turn, lease, worker connection. */
  private void endExchange(Exchange e, boolean upstreamReusable) {
    if (e.ended()) {
      return;
    }
    Exchange.Phase was = e.phase;
    e.phase = Exchange.Phase.ENDED;
    if (e.held != null) {
      e.held.release(); // a discovery answer that never reached the client
      e.held = null;
    }
    Channel up = e.upstream;
    if (up != null) {
      if (upstreamReusable && e.lease != null) {
        e.route.upstreams.release(e.lease.worker(), up, ctx.channel().eventLoop());
      } else {
        ProxyBackendHandler backend = up.pipeline().get(ProxyBackendHandler.class);
        if (backend != null) {
          backend.detach();
        }
        up.close();
      }
    }
    e.route.leases.release(e, was);
  }

  /** Fails the current exchange with a gateway answer, or a plain close once a response began. */
  void fail(UpstreamFailure failure) {
    refuse(ErrorResponses.of(failure, gw.retryAfterSeconds));
  }

  /**
   * Answers the current request with the gateway's {@code answer} (malformed, too slow, a
   * failure upstream), or closes the connection if a response already began, and ends the
   * exchange either way.
   */
  void refuse(FullHttpResponse answer) {
    Exchange e = ex;
    ex = null;
    if (e != null) {
      endExchange(e, false);
      if (!e.canAnswer()) {
        ReferenceCountUtil.release(answer);
        log.debug("session {}: {} after the response began; closing the client connection",
            e.key, answer.status());
        closeNow();
        return;
      }
    }
    respondAndClose(forMethod(answer, e != null && e.head));
  }

  /**
   * The gateway's own answer to a HEAD request has no content (RFC 9110 §9.3.2): the client reads
   * the head only. Content-Length stays, as for a worker's answer to HEAD.
   */
  private static FullHttpResponse forMethod(FullHttpResponse answer, boolean head) {
    if (head) {
      answer.content().clear();
    }
    return answer;
  }

  /** Ends {@code e} and closes the client connection: its response cannot be completed. */
  void abort(Exchange e, String why) {
    log.debug("session {}: {}; closing the client connection", e.key, why);
    if (ex == e) {
      ex = null;
    }
    endExchange(e, false);
    closeNow();
  }

  private void respondAndClose(FullHttpResponse response) {
    state = State.CLOSED;
    timers.cancel();
    requests.releaseAll();
    ctx.writeAndFlush(response).addListener((ChannelFutureListener) f -> closeLingering());
  }

  /** Closes after a final answer, dropping what the client still sends ({@link LingeringClose}). */
  private void closeLingering() {
    state = State.CLOSED;
    timers.cancel();
    requests.releaseAll();
    LingeringClose.start(ctx);
  }

  private void closeNow() {
    state = State.CLOSED;
    timers.cancel();
    requests.releaseAll();
    ctx.close();
  }

  // ---- protocol switch ----

  void startTunnel(Exchange e, HttpResponse resp) {
    Channel client = ctx.channel();
    Channel up = e.upstream;
    timers.cancel();
    e.phase = Exchange.Phase.TUNNEL;
    ex = null;
    state = State.CLOSED;
    requests.releaseAll();
    HeaderRewriter.toClient(resp, true);
    client.writeAndFlush(resp);
    TunnelHandler.install(client, up, this);
    // The lease is held while the tunnel is open; closing either side closes both.
    client.closeFuture().addListener(f -> endExchange(e, false));
  }

  // ---- connection lifetime ----

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    responses.clientWritabilityChanged();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    timers.cancel();
    Exchange e = ex;
    ex = null;
    if (e != null) {
      endExchange(e, false);
    }
    requests.releaseAll();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
    closeNow();
  }

  private void onDeadline(ConnectionTimers.Kind kind) {
    Exchange e = ex;
    switch (kind) {
      case HEADER -> {
        if (state == State.HEAD) {
          respondAndClose(ErrorResponses.of(Refusal.HEADER_TIMEOUT, null));
        } else if (state == State.NEW) {
          closeNow(); // a new connection that never sent a byte gets no answer
        }
      }
      case IDLE -> {
        if (state == State.IDLE) {
          closeNow();
        }
      }
      case BODY -> {
        if (e != null && e.phase == Exchange.Phase.FORWARDING
            && e.request == Exchange.RequestPhase.RECEIVING) {
          if (e.canAnswer()) {
            refuse(ErrorResponses.of(Refusal.BODY_TIMEOUT, null));
          } else {
            abort(e, "the client stopped sending its request body");
          }
        }
      }
      case RESPONSE -> {
        if (e != null && e.canAnswer()) {
          fail(UpstreamFailure.RESPONSE_TIMEOUT);
        }
      }
    }
  }
}
