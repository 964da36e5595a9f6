package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker-to-client half of a client connection: it relays the current exchange's response
 * from its worker connection to the client, exactly one response per request.
 *
 * <p>One response per request is what keeps sessions apart on a shared client connection: the
 * response phase goes AWAITING → RELAYING → READ once the last piece was read, and whatever the
 * worker sends after that (a second, unsolicited response, garbage) is out of turn. It is dropped
 * and the worker connection closed, never pooled, so it can neither answer the next request on the
 * client connection (which may belong to another session) nor the next request to this worker.
 * Informational responses (1xx) are skipped (the gateway answers 100-continue itself); a 101 to a
 * request that asked for an upgrade turns the connection into a tunnel, and one to any other
 * request fails the exchange (502): what follows it is not HTTP.
 *
 * <p>Heads come from {@link UpstreamResponseDecoder} as {@link RawResponseHead}s, which {@link
 * ResponseHeadRewriter} edits for the client without building a header map, and body pieces as
 * slices of what the worker connection read; {@link ClientResponseEncoder} writes both on.
 *
 * <p>Flow control: the worker connection reads while the client connection can take what comes,
 * and stops while the client's outbound buffer is above its high-water mark, resuming when it
 * drained ({@link #clientWritabilityChanged}). Nothing is buffered beyond one read, but for
 * a DevTools discovery answer with {@code devtools} on, held whole (at most {@link
 * DevToolsResponse#LIMIT} bytes) so that its links can be rewritten.
 *
 * <p>Not thread-safe: one per client connection; the worker connections it serves are registered
 * on the client connection's event loop. Lives as long as the client connection.
 */
final class ResponseRelay implements ProxyBackendHandler.Listener {

  private static final Logger log = LoggerFactory.getLogger(ResponseRelay.class);

  private final ProxyFrontendHandler frontend;
  private final GatewayContext gw;
  private final ChannelHandlerContext ctx;
  private final ConnectionTimers timers;

  ResponseRelay(
      ProxyFrontendHandler frontend, GatewayContext gw, ChannelHandlerContext ctx,
      ConnectionTimers timers) {
    this.frontend = frontend;
    this.gw = gw;
    this.ctx = ctx;
    this.timers = timers;
  }

  /** Makes {@code e}'s worker connection report here, and starts reading it. */
  void attach(Exchange e) {
    Channel up = e.upstream;
    up.pipeline().get(ProxyBackendHandler.class).attach(this);
    up.pipeline().get(UpstreamResponseDecoder.class).expectHeadResponse(e.head);
    up.config().setAutoRead(true);
  }

  /** The exchange {@code up} serves, or null when {@code up} is not the current one's. */
  private Exchange owner(Channel up) {
    Exchange e = frontend.current();
    return e != null && e.upstream == up && e.phase == Exchange.Phase.FORWARDING ? e : null;
  }

  @Override
  public void onUpstreamRead(Channel up, HttpObject msg) {
    Exchange e = owner(up);
    if (e == null) {
      ReferenceCountUtil.release(msg);
      up.close(); // a connection no exchange owns has nothing to say
      return;
    }
    if (e.response == Exchange.ResponsePhase.READ || e.response == Exchange.ResponsePhase.SENT) {
      ReferenceCountUtil.release(msg);
      dropOutOfTurn(e, up);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      if (e.canAnswer()) {
        frontend.fail(UpstreamFailure.BAD_RESPONSE);
      } else {
        frontend.abort(e, "the worker's response broke off");
      }
      return;
    }
    if (msg instanceof HttpResponse resp) {
      if (e.response != Exchange.ResponsePhase.AWAITING) {
        ReferenceCountUtil.release(msg);
        frontend.abort(e, "the worker sent a response head inside a response");
        return;
      }
      if (!onHead(e, resp)) {
        return; // the head started a tunnel or failed the exchange
      }
    }
    if (msg instanceof HttpContent content) {
      onContent(e, up, content);
    }
  }

  /**
   * Takes a response head: relays it (or holds it, for a DevTools answer), skips it (1xx), starts
   * a tunnel (101 to an upgrade) or fails the exchange (101 to anything else). Owns {@code resp}.
   *
   * @return whether the exchange still forwards, so that a body in the same message follows
   */
  private boolean onHead(Exchange e, HttpResponse resp) {
    int code = resp instanceof RawResponseHead raw ? raw.code() : resp.status().code();
    if (code == 101) {
      if (e.upgrade) {
        frontend.startTunnel(e, resp); // writes resp
        return false;
      }
      // A switch nobody asked for: what follows is not HTTP, so nothing more can be relayed.
      ReferenceCountUtil.release(resp);
      e.upstreamKeepAlive = false;
      log.warn("the worker of session {} switched protocols unasked; answering 502", e.key);
      frontend.fail(UpstreamFailure.BAD_RESPONSE);
      return false;
    }
    if (code >= 100 && code < 200) {
      ReferenceCountUtil.release(resp);
      e.response = Exchange.ResponsePhase.INTERIM; // skipped up to its (empty) last content
      return true;
    }
    timers.disarm(ConnectionTimers.Kind.RESPONSE);
    e.response = Exchange.ResponsePhase.RELAYING;
    if (resp instanceof RawResponseHead raw) {
      ResponseHeadRewriter.prepare(e, raw, e.route.keyCookie,
          frontend.peer().tls(), e.route.keyTtl, frontend.closing());
    } else {
      HeaderRewriter.prepareResponse(e, resp, e.route.keyCookie,
          frontend.peer().tls(), e.route.keyTtl, frontend.closing());
    }
    // A peer gateway's answer was rewritten there, with the client's forwarded Host and scheme.
    if (e.devtools != null && e.peer() == null && DevToolsResponse.shouldHold(resp, e.head)) {
      e.held = new DevToolsResponse(resp, e.devtools, ctx.alloc());
      return true; // written with its body, once complete
    }
    ctx.write(resp, ctx.voidPromise()); // flushed at the end of this read from the worker
    return true;
  }

  /**
   * A piece of a held discovery answer: kept while it fits, the whole answer written rewritten
   * with its last piece. A body beyond the limit spills: the head and what was held go out as
   * they came, and this piece and the rest are relayed like any other.
   *
   * @return whether the piece was consumed here
   */
  private boolean onHeldContent(Exchange e, HttpContent content, boolean last) {
    DevToolsResponse held = e.held;
    if (!held.fits(content.content().readableBytes())) {
      e.held = null;
      ctx.write(held.head(), ctx.voidPromise());
      ctx.write(held.spill(), ctx.voidPromise());
      return false;
    }
    held.add(content);
    if (!last) {
      return true;
    }
    e.held = null;
    LastHttpContent body = held.complete(); // sets the head's Content-Length: first
    ctx.write(held.head(), ctx.voidPromise());
    writeLast(e, body);
    return true;
  }

  private void onContent(Exchange e, Channel up, HttpContent content) {
    boolean last = content instanceof LastHttpContent;
    switch (e.response) {
      case INTERIM -> {
        content.release();
        if (last) {
          e.response = Exchange.ResponsePhase.AWAITING;
        }
      }
      case RELAYING -> {
        if (e.held != null && onHeldContent(e, content, last)) {
          return;
        }
        if (!last) {
          // A failed write surfaces in exceptionCaught, which closes the connection.
          ctx.write(content, ctx.voidPromise());
          throttle(up);
          return;
        }
        writeLast(e, content);
      }
      default -> {
        content.release();
        frontend.fail(UpstreamFailure.BAD_RESPONSE); // a body before any head
      }
    }
  }

  /** Writes the response's last piece; the exchange's response is then READ, and SENT once out. */
  private void writeLast(Exchange e, HttpContent content) {
    e.response = Exchange.ResponsePhase.READ;
    ctx.write(content).addListener((ChannelFutureListener) f -> {
      if (e.ended() || frontend.current() != e) {
        return;
      }
      if (f.isSuccess()) {
        e.response = Exchange.ResponsePhase.SENT;
        frontend.responseSent(e);
      } else {
        frontend.abort(e, "the client went away");
      }
    });
  }

  /**
   * The worker sent something after its response was complete: it is not the answer to anything,
   * and the connection's framing can no longer be trusted. Never relayed, never pooled.
   */
  private void dropOutOfTurn(Exchange e, Channel up) {
    e.upstreamKeepAlive = false;
    if (up.isOpen()) {
      log.warn("the worker of session {} sent data after its complete response; dropped it and"
          + " closed the worker connection", e.key);
      ctx.flush(); // the complete response goes out; the close may come before the read's end
      up.close();
    }
  }

  @Override
  public void onUpstreamReadComplete(Channel up) {
    if (owner(up) != null) {
      ctx.flush();
    }
  }

  @Override
  public void onUpstreamInactive(Channel up, Throwable cause) {
    Exchange e = owner(up);
    if (e == null) {
      return;
    }
    switch (e.response) {
      case READ, SENT -> ctx.flush();
      case RELAYING -> frontend.abort(e, "the worker closed the connection mid-response");
      default -> {
        if (e.source == Exchange.Upstream.POOLED && e.retryable) {
          frontend.retry(e); // a pooled connection the worker had already closed
        } else {
          log.debug("worker connection for session {} closed before a response: {}", e.key, cause);
          frontend.fail(UpstreamFailure.RESET_BEFORE_RESPONSE);
        }
      }
    }
  }

  /** The client connection's writability changed: let the worker connection read again. */
  void clientWritabilityChanged() {
    Exchange e = frontend.current();
    if (e != null && e.upstream != null && ctx.channel().isWritable()) {
      e.upstream.config().setAutoRead(true);
    }
  }

  private void throttle(Channel up) {
    if (!ctx.channel().isWritable()) {
      up.config().setAutoRead(false);
    }
  }
}
