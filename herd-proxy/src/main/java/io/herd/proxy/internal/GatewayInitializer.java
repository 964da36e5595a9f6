package io.herd.proxy.internal;

import io.herd.proxy.AccessLogListener;
import io.herd.proxy.ExchangeListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.ssl.SslContext;
import java.time.Clock;

/**
 * Builds the pipeline of each client connection: a TLS handler when the gateway serves HTTPS,
 * the request decoder ({@link ClientRequestDecoder}: a fast path, and the strict decoder for
 * everything else), the response encoder (which passes worker heads through as their own bytes),
 * an {@link ExchangeObserver} when an exchange listener is set, and the frontend handler. The
 * handler names {@code decoder} and {@code encoder} are what {@link ProxyFrontendHandler} removes
 * at a protocol switch.
 *
 * <p>Thread-safe and shareable: it holds only the gateway context, the (immutable) TLS context
 * and the (thread-safe) listener.
 */
public final class GatewayInitializer extends ChannelInitializer<SocketChannel> {

  private final GatewayContext gw;
  private final PoolSelector pools;
  private final SslContext tls;
  private final ExchangeListener exchangeListener;
  private final AccessLogListener accessLog;

  public GatewayInitializer(GatewayContext gw) {
    this(gw, null, null, null);
  }

  /**
   * @param tls when set, every connection starts with a TLS handler ({@code tls})
   * @param exchangeListener when set, an {@link ExchangeObserver} ({@code observer}) reports
   *     each exchange to it
   */
  public GatewayInitializer(GatewayContext gw, SslContext tls, ExchangeListener exchangeListener) {
    this(gw, tls, exchangeListener, null);
  }

  /**
   * @param accessLog when set, the {@link ExchangeObserver} also reports each request to it
   */
  public GatewayInitializer(GatewayContext gw, SslContext tls, ExchangeListener exchangeListener,
      AccessLogListener accessLog) {
    this(PoolSelector.of(java.util.List.of(gw)), tls, exchangeListener, accessLog);
  }

  /** A gateway of several pools, {@code pools} choosing one per request. */
  public GatewayInitializer(PoolSelector pools, SslContext tls, ExchangeListener exchangeListener,
      AccessLogListener accessLog) {
    this.pools = pools;
    this.gw = pools.first();
    this.tls = tls;
    this.exchangeListener = exchangeListener;
    this.accessLog = accessLog;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    gw.clients.add(ch);
    ChannelPipeline p = ch.pipeline();
    if (tls != null) {
      p.addLast("tls", tls.newHandler(ch.alloc()));
    }
    addCodecHandlers(p);
    if (exchangeListener != null || accessLog != null) {
      p.addLast("observer", new ExchangeObserver(exchangeListener, accessLog, Clock.systemUTC()));
    }
    addProxyHandlers(p);
  }

  private void addCodecHandlers(ChannelPipeline p) {
    HttpDecoderConfig config =
        new HttpDecoderConfig()
            .setMaxInitialLineLength(gw.options.maxInitialLineLength())
            .setMaxHeaderSize(gw.options.maxHeaderSize())
            .setMaxChunkSize(gw.options.maxChunkSize());
    p.addLast("decoder", new ClientRequestDecoder(config));
    p.addLast("encoder", new ClientResponseEncoder());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    p.addLast("frontend", new ProxyFrontendHandler(pools));
  }
}
