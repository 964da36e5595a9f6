package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening channel's guard against running out of file descriptors: where a plain server
 * logs a failed accept and leaves the client waiting in the backlog (and, level-triggered, can
 * spin on it), this handler answers that client 503 and stops accepting until it can serve again.
 *
 * <p>Design: the reserve-descriptor technique. One descriptor is held in reserve ({@link
 * SpareDescriptor}). When an accept fails with EMFILE or ENFILE ({@link DescriptorExhaustion}):
 *
 * <pre>
 *   accept fails ──► stop accepting (AUTO_READ off), release the spare, accept again
 *       │                 └─► the waiting client takes the freed slot: refused (503, Retry-After,
 *       │                     Connection: close; under TLS a plain close), counted, logged
 *       │                     ({@link DescriptorRefusalLog}); when it has closed ─► take the
 *       │                     spare back and accept again
 *       └─ no spare to release (a refusal in flight: wait for it; else) ─► pause {@link #PAUSE},
 *          then take the spare back if a descriptor freed up, and accept again
 * </pre>
 *
 * Every client accepted while the spare is out is refused: the gateway is at its limit, and that
 * client's worker connection would fail anyway. The accept loop never spins: every failed accept
 * turns accepting off, and only a closed refusal or the pause turns it back on. The exception is
 * not passed on, so neither Netty's acceptor (which would pause a fixed second) nor its tail
 * (which would log a warning per failure) sees it; the refusal log says what happened instead.
 *
 * <p>Not thread-safe: confined to the listening channel's event loop, where refused clients are
 * registered too. Lives as long as the listening channel; the spare is freed when it closes.
 */
public final class DescriptorReserveHandler extends ChannelInboundHandlerAdapter {

  /** How long accepting pauses when no descriptor could be freed for a waiting client. */
  static final Duration PAUSE = Duration.ofMillis(100);

  private static final Logger log = LoggerFactory.getLogger(DescriptorReserveHandler.class);

  private final DescriptorRefusalLog refusals;
  /** Whether refused clients get a 503 (plain HTTP) or only a close (TLS: no handshake to spare). */
  private final boolean answer;
  private final long retryAfterSeconds;
  /** Null when no spare could be taken at start (no {@code /dev/null}): accepting only pauses. */
  private SpareDescriptor spare;
  private ChannelHandlerContext ctx;
  /** An accept failed for want of a descriptor and the spare has not been taken back since. */
  private boolean exhausted;
  /** Refused clients not closed yet: each holds a descriptor the spare is waiting for. */
  private int refusing;
  private boolean resumeScheduled;

  /**
   * @param answer whether a refused client gets a 503 ({@code false} under TLS: a close only)
   * @param retryAfterSeconds the 503's {@code Retry-After}
   */
  public DescriptorReserveHandler(DescriptorRefusalLog refusals, boolean answer,
      long retryAfterSeconds) {
    this.refusals = refusals;
    this.answer = answer;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    SpareDescriptor s = new SpareDescriptor();
    if (s.held()) {
      spare = s;
    } else {
      log.debug("no spare file descriptor (/dev/null cannot be opened): at the descriptor limit,"
          + " waiting clients wait until one frees up");
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    closeSpare();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closeSpare();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!DescriptorExhaustion.isCause(cause)) {
      ctx.fireExceptionCaught(cause);
      return;
    }
    ctx.channel().config().setAutoRead(false);
    if (spare != null && spare.held()) {
      exhausted = true;
      spare.release();
      // On the next turn of the loop: the accept in progress has ended by then.
      ctx.executor().execute(this::acceptOnFreedSlot);
    } else if (refusing == 0) {
      resumeLater();
    } // else a refused client still holds the freed slot; its close resumes accepting
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (exhausted && msg instanceof Channel child) {
      refuse(child);
    } else {
      ctx.fireChannelRead(msg);
    }
  }

  private void acceptOnFreedSlot() {
    if (ctx.channel().isOpen()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** Registers {@code child} on this loop to be answered 503 (or closed) and counts it. */
  private void refuse(Channel child) {
    refusing++;
    refusals.refused(DescriptorRefusalLog.Where.ACCEPT);
    if (answer) {
      child.pipeline().addLast("encoder", new HttpResponseEncoder());
    }
    child.pipeline().addLast("refused", new RefusedConnectionHandler(answer, retryAfterSeconds));
    child.closeFuture().addListener(f -> {
      if (ctx.executor().inEventLoop()) {
        refusalClosed();
      } else {
        ctx.executor().execute(this::refusalClosed);
      }
    });
    ctx.channel().eventLoop().register(child).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        child.unsafe().closeForcibly();
      }
    });
  }

  private void refusalClosed() {
    refusing--;
    if (refusing == 0) {
      resume();
    }
  }

  private void resumeLater() {
    if (resumeScheduled) {
      return;
    }
    resumeScheduled = true;
    ctx.executor().schedule(() -> {
      resumeScheduled = false;
      resume();
    }, PAUSE.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Takes the spare back if a descriptor is free, and accepts again either way. */
  private void resume() {
    if (!ctx.channel().isOpen() || refusing > 0) {
      return;
    }
    if (spare == null || spare.restore()) {
      exhausted = false;
    }
    // Without the spare back, the next accept either finds a free descriptor (and that client,
    // accepted while exhausted, is refused: the spare comes first) or fails and pauses again.
    ctx.channel().config().setAutoRead(true);
  }

  private void closeSpare() {
    if (spare != null) {
      spare.close();
    }
  }
}
