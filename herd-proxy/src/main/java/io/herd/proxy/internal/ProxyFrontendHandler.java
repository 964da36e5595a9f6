package io.herd.proxy.internal;

import io.herd.core.Worker;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of the gateway: one per client connection, it turns each request into an
 * exchange (validate, wait for the session's turn, acquire a lease, take a worker connection,
 * stream both ways, close the lease) and keeps the connection alive between exchanges.
 *
 * <p>Design. Everything here runs on the client connection's event loop, and the worker
 * connection is registered on the same loop, so the state needs no locks; callbacks from other
 * threads (the pool's lease future) hop onto the loop first.
 *
 * <p>Flow control, both ways, never holds a whole body. Client to worker: a body piece is written
 * to the worker and the next one is taken only once that write succeeded; while a piece is in
 * flight (or the exchange is still being admitted) what the client sends waits in {@link
 * #inbound}, and reading stops as soon as anything waits there, so at most one read's worth is
 * held. Worker to client: the worker connection reads until the client connection's outbound
 * buffer passes its high-water mark, and resumes when it drains ({@link
 * #channelWritabilityChanged}). AUTO_READ is toggled only when data actually has to wait, which
 * keeps the common keep-alive request free of extra epoll_ctl calls. {@link #inbound} also holds
 * pipelined requests, and lets a malformed chunk that arrived with the head fail the exchange
 * before the head is sent on.
 *
 * <p>Every exchange ends exactly once in {@link #endExchange}: the lease closes, the session's
 * turn passes on, and the worker connection goes back to the pool only when both messages were
 * complete and the worker keeps it alive.
 *
 * <p>Lifetime: from the connection's activation until it closes, or until a protocol switch hands
 * the connection to {@link TunnelHandler}s.
 */
public final class ProxyFrontendHandler extends ChannelInboundHandlerAdapter
    implements ProxyBackendHandler.Listener, LeaseAcquirer.Callback {

  private static final Logger log = LoggerFactory.getLogger(ProxyFrontendHandler.class);

  /** What the connection's one deadline currently guards. */
  private enum Deadline {
    NONE,
    /** A keep-alive connection between requests: closed quietly. */
    IDLE,
    /** A request head that started (or a new connection's first): 408. */
    HEADER,
    /** A forwarded request waiting for the worker's response head: 504. */
    RESPONSE
  }

  private enum State {
    /** Between exchanges: waiting for a request head. */
    IDLE,
    /** A request head arrived: waiting for the session's turn, a lease and a worker connection. */
    ADMITTING,
    /** The request goes to the worker and the response comes back. */
    FORWARDING,
    /** The connection is closing or was handed over to a tunnel. */
    CLOSED
  }

  private final GatewayContext gw;
  private final ArrayDeque<HttpObject> inbound = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private Exchange ex;
  private ConnectionDeadline deadline;
  private Deadline deadlineKind = Deadline.NONE;
  private boolean headStarted;
  private boolean firstRequest = true;
  private boolean drainRequested;
  private String peerIp;
  private boolean trustedPeer;
  /** {@code https} when the client connection runs TLS; set with {@link #peerIp}. */
  private String scheme;

  public ProxyFrontendHandler(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.deadline = new ConnectionDeadline(ctx.channel().eventLoop(), this::onDeadline);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    armIdleTimer();
    ctx.fireChannelActive();
  }

  /** Called on the loop when the gateway drains: close now if idle, else after this exchange. */
  public void drain() {
    drainRequested = true;
    if (state == State.IDLE && inbound.isEmpty()) {
      state = State.CLOSED;
      ctx.close();
    }
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
    inbound.add((HttpObject) msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    process();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == StrictRequestDecoder.HEAD_STARTED && state == State.IDLE && !headStarted) {
      headStarted = true;
      armIdleTimer();
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Moves queued client messages forward as far as the state allows; reads more if needed. */
  private void process() {
    while (true) {
      switch (state) {
        case IDLE -> {
          HttpObject msg = inbound.poll();
          if (msg == null) {
            resumeReading();
            return;
          }
          if (msg instanceof HttpRequest) {
            startExchange((HttpRequest) msg);
          } else {
            // The rest of a request that was already answered (and its connection is closing).
            boolean failed = msg.decoderResult().isFailure();
            ReferenceCountUtil.release(msg);
            if (failed) {
              closeNow();
              return;
            }
          }
        }
        case ADMITTING -> {
          for (HttpObject queued : inbound) {
            if (queued.decoderResult().isFailure()) {
              rejectRequest(queued.decoderResult().cause());
              return;
            }
          }
          pauseReadingIfQueued();
          return;
        }
        case FORWARDING -> {
          Exchange e = ex;
          if (e == null) { // only after a failure in this class's own bookkeeping
            closeNow();
            return;
          }
          if (e.requestRead || e.bodyWriteInFlight) {
            pauseReadingIfQueued();
            return;
          }
          HttpObject msg = inbound.poll();
          if (msg == null) {
            resumeReading();
            return;
          }
          if (msg.decoderResult().isFailure() || !(msg instanceof HttpContent)) {
            Throwable cause = msg.decoderResult().cause();
            ReferenceCountUtil.release(msg);
            rejectRequest(cause);
            return;
          }
          forwardBody(e, (HttpContent) msg);
        }
        default -> {
          releaseInbound();
          return;
        }
      }
    }
  }

  /*
   * Flow control towards the client. AUTO_READ stays on while the connection can take what comes
   * (between requests, and while a body streams and the previous piece was written); it is turned
   * off only once a message arrives that has to wait, so a plain keep-alive client never pays for
   * toggling it, while a client that sends more than the exchange can take is held to one read.
   */

  private void pauseReadingIfQueued() {
    if (!inbound.isEmpty() && ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  private void resumeReading() {
    if (!ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /*
   * Flow control towards the worker: its connection reads freely until the client's outbound
   * buffer passes its high-water mark, then waits until the client drained it below the low one.
   */

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Exchange e = ex;
    if (e != null && e.upstream != null && ctx.channel().isWritable()) {
      e.upstream.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void throttleUpstream(Exchange e) {
    if (!ctx.channel().isWritable()) {
      e.upstream.config().setAutoRead(false);
    }
  }

  private void forwardBody(Exchange e, HttpContent content) {
    boolean last = content instanceof LastHttpContent;
    e.bodyWriteInFlight = true;
    e.requestRead |= last;
    e.upstream.writeAndFlush(content).addListener((ChannelFutureListener) f -> {
      e.bodyWriteInFlight = false;
      if (ex != e) {
        return;
      }
      if (!f.isSuccess()) {
        f.channel().close(); // reported through onUpstreamInactive
        return;
      }
      if (last) {
        requestSent(e);
      } else {
        process();
      }
    });
  }

  private void requestSent(Exchange e) {
    e.requestSent = true;
    if (!e.responseStarted) {
      arm(Deadline.RESPONSE, gw.options.responseTimeout());
    }
    maybeFinish();
  }

  // ---- admission: validate, take a turn, acquire a lease, connect ----

  private void startExchange(HttpRequest req) {
    disarm();
    headStarted = false;
    if (peerIp == null) {
      // Once per connection: formatting the address showed in profiles when done per request.
      InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
      peerIp = peer == null ? "unknown" : peer.getAddress().getHostAddress();
      trustedPeer = peer != null && gw.options.trusted().contains(peer.getAddress());
      scheme = ctx.pipeline().get(SslHandler.class) != null ? "https" : "http";
    }
    RequestAdmission.Decision d =
        RequestAdmission.decide(gw, req, inbound, peerIp, trustedPeer, scheme);
    if (d.refusal() != null) {
      reject(d.refusal());
      return;
    }
    Exchange e = d.exchange();
    e.closeAfter |= drainRequested || gw.draining();
    ex = e;
    state = State.ADMITTING;
    gw.leases.acquire(e, ctx.channel().eventLoop(), this);
  }

  @Override
  public void onLease(Exchange e) {
    if (ex == e) {
      connectUpstream(e, true);
    } else {
      e.lease.close(); // unreachable while ended exchanges are filtered by the acquirer
      e.lease = null;
    }
  }

  @Override
  public void onFailure(Exchange e, UpstreamFailure failure) {
    if (ex == e) {
      fail(failure);
    }
  }

  private void connectUpstream(Exchange e, boolean allowPooled) {
    Worker worker = e.lease.worker();
    EventLoop loop = ctx.channel().eventLoop();
    Channel pooled = allowPooled ? gw.upstreams.pollIdle(worker, loop) : null;
    if (pooled != null) {
      e.reused = true;
      onUpstreamReady(e, pooled);
      return;
    }
    e.reused = false;
    ChannelFuture connect = gw.upstreams.connect(worker, loop);
    e.upstream = connect.channel();
    connect.addListener((ChannelFutureListener) f -> {
      if (ex != e || e.ended) {
        f.channel().close();
      } else if (!f.isSuccess()) {
        log.debug("connect to worker {} failed: {}", worker.id(), f.cause().toString());
        fail(UpstreamFailure.classify(f.cause()));
      } else {
        onUpstreamReady(e, f.channel());
      }
    });
  }

  private void onUpstreamReady(Exchange e, Channel up) {
    e.upstream = up;
    up.pipeline().get(ProxyBackendHandler.class).attach(this);
    up.pipeline().get(UpstreamResponseDecoder.class).expectHeadResponse(e.head);
    state = State.FORWARDING;
    up.write(e.upstreamRequest);
    if (e.requestRead) {
      // A retry on a fresh connection: the (empty) body was already taken from the queue.
      up.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener((ChannelFutureListener) f -> {
        if (ex == e && f.isSuccess()) {
          requestSent(e);
        }
      });
    } else if (inbound.isEmpty()) {
      up.flush(); // else the queued body's first write flushes the head with it
    }
    up.config().setAutoRead(true);
    if (e.expectContinue && !e.continueSent && !e.requestRead) {
      e.continueSent = true;
      ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
    }
    process();
  }

  // ---- worker output ----

  @Override
  public void onUpstreamRead(HttpObject msg) {
    Exchange e = ex;
    if (e == null || state != State.FORWARDING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      if (e.responseStarted) {
        abortMidResponse(e, "the worker's response broke off");
      } else {
        fail(UpstreamFailure.BAD_RESPONSE);
      }
      return;
    }
    if (msg instanceof HttpResponse) {
      onResponseHead(e, (HttpResponse) msg);
    }
    if (msg instanceof HttpContent) {
      onResponseContent(e, (HttpContent) msg);
    }
  }

  private void onResponseHead(Exchange e, HttpResponse resp) {
    int code = resp.status().code();
    if (code == 101 && e.upgrade) {
      startTunnel(e, resp);
      return;
    }
    if (code >= 100 && code < 200) {
      // Informational answers stop here: the gateway already answered 100-continue itself.
      e.skipNextLast = true;
      return;
    }
    disarm();
    e.responseStarted = true;
    HeaderRewriter.prepareResponse(
        e, resp, gw.rule.cookieName().orElse(null), drainRequested || gw.draining());
    ctx.write(resp, ctx.voidPromise()); // flushed at the end of this read from the worker
  }

  private void onResponseContent(Exchange e, HttpContent content) {
    boolean last = content instanceof LastHttpContent;
    if (e.skipNextLast) {
      content.release();
      if (last) {
        e.skipNextLast = false;
      }
      return;
    }
    if (last) {
      e.responseRead = true;
    }
    if (last) {
      ctx.write(content).addListener((ChannelFutureListener) f -> {
        if (ex == e) {
          if (f.isSuccess()) {
            e.responseSent = true;
            maybeFinish();
          } else {
            abortMidResponse(e, "the client went away");
          }
        }
      });
    } else {
      // A failed write surfaces in exceptionCaught, which closes the connection.
      ctx.write(content, ctx.voidPromise());
      throttleUpstream(e);
    }
  }

  @Override
  public void onUpstreamReadComplete() {
    ctx.flush();
  }

  @Override
  public void onUpstreamInactive(Throwable cause) {
    Exchange e = ex;
    if (e == null || state != State.FORWARDING || e.responseRead) {
      return;
    }
    if (e.responseStarted) {
      abortMidResponse(e, "the worker closed the connection mid-response");
    } else if (e.reused && e.retryable && !e.retried) {
      // A pooled connection the worker had already closed: try once more on a fresh one.
      e.retried = true;
      disarm();
      e.upstream = null;
      connectUpstream(e, false);
    } else {
      log.debug("worker connection for session {} closed before a response: {}", e.key, cause);
      fail(UpstreamFailure.RESET_BEFORE_RESPONSE);
    }
  }

  // ---- the end of an exchange ----

  private void maybeFinish() {
    Exchange e = ex;
    if (e == null || !e.responseSent) {
      return;
    }
    boolean reusable = e.upstreamKeepAlive && e.requestSent;
    if (!e.requestSent) {
      e.closeAfter = true; // answered before the whole request arrived: the rest is unread
    }
    ex = null;
    try {
      endExchange(e, reusable);
    } catch (RuntimeException | Error bug) {
      // Called from a write listener: an escaping error would leave the connection wedged.
      log.warn("ending the exchange of session {} failed; closing the connection", e.key, bug);
      closeNow();
      return;
    }
    if (e.closeAfter || drainRequested || gw.draining()) {
      closeNow();
      return;
    }
    state = State.IDLE;
    firstRequest = false;
    armIdleTimer();
    process();
  }

  /** Ends {@code e} once: timers, turn, lease, worker connection. */
  private void endExchange(Exchange e, boolean upstreamReusable) {
    if (e.ended) {
      return;
    }
    e.ended = true;
    Channel up = e.upstream;
    if (up != null) {
      if (upstreamReusable && e.lease != null) {
        gw.upstreams.release(e.lease.worker(), up);
      } else {
        ProxyBackendHandler backend = up.pipeline().get(ProxyBackendHandler.class);
        if (backend != null) {
          backend.detach();
        }
        up.close();
      }
    }
    gw.leases.release(e);
  }

  /** Fails the current exchange with a gateway answer, or a plain close once a response began. */
  private void fail(UpstreamFailure failure) {
    Exchange e = ex;
    if (e == null) {
      return;
    }
    ex = null;
    endExchange(e, false);
    if (e.responseStarted) {
      closeNow();
    } else {
      respondAndClose(ErrorResponses.of(failure, gw.retryAfterSeconds));
    }
  }

  private void abortMidResponse(Exchange e, String why) {
    log.debug("session {}: {}; closing the client connection", e.key, why);
    ex = null;
    endExchange(e, false);
    closeNow();
  }

  /** Answers a request the gateway will not forward (malformed, too big, no key...). */
  private void rejectRequest(Throwable cause) {
    reject(ErrorResponses.forMalformed(cause));
  }

  private void reject(HttpResponse refusal) {
    Exchange e = ex;
    ex = null;
    if (e != null) {
      endExchange(e, false);
      if (e.responseStarted) {
        ReferenceCountUtil.release(refusal);
        closeNow();
        return;
      }
    }
    respondAndClose(refusal);
  }

  private void respondAndClose(HttpResponse response) {
    state = State.CLOSED;
    deadline.cancel();
    releaseInbound();
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  private void closeNow() {
    state = State.CLOSED;
    deadline.cancel();
    releaseInbound();
    ctx.close();
  }

  // ---- protocol switch ----

  private void startTunnel(Exchange e, HttpResponse resp) {
    Channel client = ctx.channel();
    Channel up = e.upstream;
    deadline.cancel();
    ex = null;
    state = State.CLOSED;
    releaseInbound();
    HeaderRewriter.toClient(resp, true);
    client.writeAndFlush(resp);
    TunnelHandler.install(client, up, this);
    // The lease is held while the tunnel is open; closing either side closes both.
    client.closeFuture().addListener(f -> endExchange(e, false));
  }

  // ---- connection lifetime ----

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    deadline.cancel();
    Exchange e = ex;
    ex = null;
    if (e != null) {
      endExchange(e, false);
    }
    releaseInbound();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
    closeNow();
  }

  /**
   * Between requests: the first request of a connection and a request whose head started get
   * {@code headerTimeout} (then 408); an idle keep-alive connection gets {@code idleTimeout}.
   */
  private void armIdleTimer() {
    boolean header = firstRequest || headStarted;
    arm(header ? Deadline.HEADER : Deadline.IDLE,
        header ? gw.options.headerTimeout() : gw.options.idleTimeout());
  }

  private void arm(Deadline kind, Duration after) {
    deadlineKind = kind;
    deadline.arm(after);
  }

  private void disarm() {
    deadlineKind = Deadline.NONE;
    deadline.disarm();
  }

  private void onDeadline() {
    Deadline kind = deadlineKind;
    deadlineKind = Deadline.NONE;
    switch (kind) {
      case IDLE -> {
        if (state == State.IDLE) {
          closeNow();
        }
      }
      case HEADER -> {
        if (state == State.IDLE && headStarted) {
          respondAndClose(ErrorResponses.of(HttpResponseStatus.REQUEST_TIMEOUT,
              "request headers not received in time", 0));
        } else if (state == State.IDLE) {
          closeNow(); // a new connection that never sent a byte gets no answer
        }
      }
      case RESPONSE -> {
        if (ex != null && !ex.responseStarted) {
          fail(UpstreamFailure.RESPONSE_TIMEOUT);
        }
      }
      default -> { }
    }
  }

  private void releaseInbound() {
    HttpObject msg;
    while ((msg = inbound.poll()) != null) {
      ReferenceCountUtil.release(msg);
    }
  }
}
