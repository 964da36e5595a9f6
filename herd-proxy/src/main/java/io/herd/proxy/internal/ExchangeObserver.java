package io.herd.proxy.internal;

import io.herd.proxy.CompletedExchange;
import io.herd.proxy.ExchangeListener;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits between the HTTP codec and the frontend handler of a client connection and reports each
 * exchange to an {@link ExchangeListener}: the request head starts it, the response head gives
 * its status, the response's last content (or a 101, or the connection's close) ends it. It only
 * looks at messages as they pass; it never holds, changes or releases one.
 *
 * <p>The outcome says who answered: the worker, or the gateway itself for the reason its answer
 * carries ({@link ErrorResponses.GatewayAnswer}). The frontend tells it where an exchange was
 * routed ({@link #forwardedTo}, {@link #arrivedForwarded}). Durations are read from the event
 * loop's ticker.
 *
 * <p>Pipelined requests queue up in order, as HTTP/1.1 answers them. After a protocol switch the
 * codec is gone and raw bytes pass by unobserved. Not thread-safe: confined to its channel's event
 * loop, one instance per connection.
 */
public final class ExchangeObserver extends ChannelDuplexHandler {

  private static final Logger log = LoggerFactory.getLogger(ExchangeObserver.class);

  /** An exchange in progress; not thread-safe, event-loop confined. */
  private static final class Pending {
    final String method;
    final long startNanos;
    int status;
    String outcome = CompletedExchange.NONE;
    String forwardedTo;
    boolean forwardedHop;

    Pending(String method, long startNanos) {
      this.method = method;
      this.startNanos = startNanos;
    }
  }

  private final ExchangeListener listener;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private boolean switched;

  public ExchangeObserver(ExchangeListener listener) {
    this.listener = listener;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest req && !switched) {
      pending.addLast(new Pending(req.method().name(), ctx.executor().ticker().nanoTime()));
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!switched) {
      observe(ctx, msg);
    }
    ctx.write(msg, promise);
  }

  private void observe(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse resp) {
      int code = resp.status().code();
      if (code == HttpResponseStatus.CONTINUE.code()) {
        return; // an interim answer to Expect: 100-continue, not the exchange's status
      }
      Pending p = pending.peekFirst();
      if (p == null) {
        p = new Pending("-", ctx.executor().ticker().nanoTime()); // a request that never parsed
        pending.addFirst(p);
      }
      p.status = code;
      p.outcome = msg instanceof ErrorResponses.GatewayAnswer answer
          ? answer.outcome() : CompletedExchange.WORKER;
      if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
        switched = true;
        complete(ctx);
        return;
      }
    }
    if (msg instanceof LastHttpContent && pending.peekFirst() != null
        && pending.peekFirst().status != 0) {
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

  /** The exchange being answered arrived as a valid hop from a peer gateway. */
  void arrivedForwarded() {
    Pending p = pending.peekFirst();
    if (p != null && p.status == 0) {
      p.forwardedHop = true;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    while (!pending.isEmpty()) {
      complete(ctx);
    }
    ctx.fireChannelInactive();
  }

  private void complete(ChannelHandlerContext ctx) {
    Pending p = pending.pollFirst();
    try {
      listener.exchangeCompleted(new CompletedExchange(p.method, p.status,
          Duration.ofNanos(ctx.executor().ticker().nanoTime() - p.startNanos), p.outcome,
          p.forwardedTo, p.forwardedHop));
    } catch (RuntimeException e) {
      log.warn("exchange listener {} threw; ignored", listener, e);
    }
  }
}
