package io.herd.proxy.internal;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * Builds the pipeline of each client connection: the strict request decoder, the response
 * encoder and the frontend handler. The handler names {@code decoder} and {@code encoder} are
 * what {@link ProxyFrontendHandler} removes at a protocol switch.
 *
 * <p>Thread-safe and shareable: it holds only the gateway context.
 */
public final class GatewayInitializer extends ChannelInitializer<SocketChannel> {

  private final GatewayContext gw;

  public GatewayInitializer(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    gw.clients.add(ch);
    ChannelPipeline p = ch.pipeline();
    addCodecHandlers(p);
    addProxyHandlers(p);
  }

  private void addCodecHandlers(ChannelPipeline p) {
    HttpDecoderConfig config =
        new HttpDecoderConfig()
            .setMaxInitialLineLength(gw.options.maxInitialLineLength())
            .setMaxHeaderSize(gw.options.maxHeaderSize())
            .setMaxChunkSize(gw.options.maxChunkSize());
    p.addLast("decoder", new StrictRequestDecoder(config));
    p.addLast("encoder", new HttpResponseEncoder());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    p.addLast("frontend", new ProxyFrontendHandler(gw));
  }
}
