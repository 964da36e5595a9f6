package io.herd.proxy.internal;

import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponseDecoder;

/**
 * Decodes a worker's responses. Unlike {@code HttpClientCodec} it is a separate handler from the
 * encoder, so the gateway can take the pair apart at a protocol switch; in exchange it must be told
 * when the request was a HEAD, whose response has headers that promise a body that never comes.
 *
 * <p>Not thread-safe: used on the upstream channel's event loop only.
 */
public final class UpstreamResponseDecoder extends HttpResponseDecoder {

  private boolean headRequest;

  public UpstreamResponseDecoder(HttpDecoderConfig config) {
    super(config);
  }

  /** Set before each request is written. */
  public void expectHeadResponse(boolean head) {
    this.headRequest = head;
  }

  @Override
  protected boolean isContentAlwaysEmpty(HttpMessage msg) {
    return headRequest || super.isContentAlwaysEmpty(msg);
  }
}
