package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * The client-to-worker half of a client connection: it queues what the client sends, moves the
 * current exchange's request to its worker one piece at a time, and reads from the client only
 * as fast as the worker takes the body.
 *
 * <p>Flow control never holds a whole body: a piece is written to the worker and the next one is
 * taken only once that write succeeded; while a piece is in flight (or the exchange is still being
 * admitted) what the client sends waits in the queue, and reading stops as soon as anything waits
 * there, so at most one read's worth is held. AUTO_READ is turned off only when a message actually
 * has to wait, so a plain keep-alive client never pays for toggling it. The queue also holds
 * pipelined requests: each waits, unlooked-at, for its turn, so a malformed later request never
 * spoils the one before it.
 *
 * <p>Whenever the exchange waits for the client's next body piece (request phase RECEIVING with
 * nothing queued) the body deadline is armed: a client that owes bytes is always bounded.
 *
 * <p>Not thread-safe: one per client connection, confined to its event loop. Lives as long as
 * the connection; {@link #releaseAll()} when it closes.
 */
final class RequestForwarder {

  private final ProxyFrontendHandler frontend;
  private final GatewayContext gw;
  private final ChannelHandlerContext ctx;
  private final ConnectionTimers timers;
  private final ArrayDeque<HttpObject> inbound = new ArrayDeque<>();
  /** Inside a write call: a write that completes inline lets {@link #pump}'s loop go on. */
  private boolean writing;

  RequestForwarder(
      ProxyFrontendHandler frontend, GatewayContext gw, ChannelHandlerContext ctx,
      ConnectionTimers timers) {
    this.frontend = frontend;
    this.gw = gw;
    this.ctx = ctx;
    this.timers = timers;
  }

  /** Queues what the decoder produced; the connection's handler processes it after the read. */
  void enqueue(HttpObject msg) {
    inbound.add(msg);
  }

  HttpObject poll() {
    return inbound.poll();
  }

  boolean hasQueued() {
    return !inbound.isEmpty();
  }

  /**
   * The decoder failure among the queued pieces of the request being admitted, or null. Looks
   * only as far as that request's last piece: a later pipelined request is judged in its turn.
   */
  Throwable failureInCurrentRequest() {
    for (HttpObject queued : inbound) {
      if (queued instanceof HttpRequest) {
        return null;
      }
      if (queued.decoderResult().isFailure()) {
        return queued.decoderResult().cause();
      }
      if (queued instanceof LastHttpContent) {
        return null;
      }
    }
    return null;
  }

  /**
   * Starts forwarding {@code e} on its worker connection: the head (and, on a retry, the empty
   * body again), then whatever of the body is queued. With {@code Expect: 100-continue} the client
   * is told to send its body now that a worker will take it.
   */
  void startForwarding(Exchange e) {
    Channel up = e.upstream;
    e.phase = Exchange.Phase.FORWARDING;
    up.write(e.upstreamRequest);
    if (e.request != Exchange.RequestPhase.RECEIVING) {
      // A retry on a fresh connection: the (empty) body was already taken from the queue.
      e.request = Exchange.RequestPhase.FINISHING;
      up.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(
          (ChannelFutureListener) f -> afterWrite(e, up, f.isSuccess(), true));
    } else if (inbound.isEmpty()) {
      up.flush(); // else the queued body's first write flushes the head with it
    }
    if (e.expectContinue && e.source != Exchange.Upstream.RETRY
        && e.request == Exchange.RequestPhase.RECEIVING) {
      ctx.writeAndFlush(
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
    }
    pump(e);
  }

  /** Moves the request of {@code e} forward as far as its phases allow; reads more if needed. */
  void pump(Exchange e) {
    switch (e.phase) {
      case QUEUED, ACQUIRING, CONNECTING -> {
        Throwable failure = failureInCurrentRequest();
        if (failure != null) {
          frontend.refuse(ErrorResponses.forMalformed(failure));
          return;
        }
        pauseReadingIfQueued();
      }
      case FORWARDING -> {
        while (!e.ended() && e.phase == Exchange.Phase.FORWARDING) {
          if (e.request != Exchange.RequestPhase.RECEIVING) {
            pauseReadingIfQueued(); // a piece is in flight, or the next request waits its turn
            return;
          }
          HttpObject msg = inbound.poll();
          if (msg == null) {
            timers.arm(ConnectionTimers.Kind.BODY, gw.timeouts().body());
            resumeReading();
            return;
          }
          if (msg.decoderResult().isFailure() || !(msg instanceof HttpContent)) {
            Throwable cause = msg.decoderResult().cause();
            ReferenceCountUtil.release(msg);
            frontend.refuse(ErrorResponses.forMalformed(cause));
            return;
          }
          timers.disarm(ConnectionTimers.Kind.BODY);
          forward(e, (HttpContent) msg);
        }
      }
      default -> releaseAll();
    }
  }

  private void forward(Exchange e, HttpContent content) {
    boolean last = content instanceof LastHttpContent;
    if (last && !((LastHttpContent) content).trailingHeaders().isEmpty()) {
      HeaderRewriter.removeForbiddenTrailers(((LastHttpContent) content).trailingHeaders(),
          gw.options.allowUnderscoresInHeaders(), e.route.keyHeader);
    }
    e.request = last ? Exchange.RequestPhase.FINISHING : Exchange.RequestPhase.WRITING;
    Channel up = e.upstream;
    writing = true;
    try {
      up.writeAndFlush(content).addListener(
          (ChannelFutureListener) f -> afterWrite(e, up, f.isSuccess(), last));
    } finally {
      writing = false;
    }
  }

  /** A write to the worker finished; may run inside the write call when the socket took it all. */
  private void afterWrite(Exchange e, Channel up, boolean success, boolean last) {
    if (e.ended() || e.upstream != up) {
      return; // the exchange ended, or moved to another connection on a retry
    }
    if (!success) {
      up.close(); // reported through the response relay's onUpstreamInactive
    } else if (last) {
      frontend.requestSent(e);
    } else {
      e.request = Exchange.RequestPhase.RECEIVING;
      if (!writing) {
        pump(e);
      }
    }
  }

  /*
   * Flow control towards the client. AUTO_READ stays on while the connection can take what comes
   * (between requests, and while a body streams and the previous piece was written); it is turned
   * off only once a message arrives that has to wait, so a client that sends more than the
   * exchange can take is held to one read.
   */

  void pauseReadingIfQueued() {
    if (!inbound.isEmpty() && ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  void resumeReading() {
    if (!ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** Releases everything queued: the connection closes or was handed to a tunnel. */
  void releaseAll() {
    HttpObject msg;
    while ((msg = inbound.poll()) != null) {
      ReferenceCountUtil.release(msg);
    }
  }
}
