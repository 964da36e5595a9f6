package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;

/**
 * Who is at the other end of a client connection, as the gateway tells workers: the peer's
 * address, whether it is a trusted proxy (whose forwarding headers are believed), the scheme it
 * came over and the gateway port it reached. Worked out once per connection: formatting the
 * address showed in profiles when done per request. Immutable.
 */
record ClientPeer(String ip, boolean trusted, String scheme, int localPort) {

  static ClientPeer of(Channel ch, TrustedProxies trustedProxies) {
    String scheme = ch.pipeline().get(SslHandler.class) != null ? "https" : "http";
    int localPort = ch.localAddress() instanceof InetSocketAddress local ? local.getPort() : 0;
    if (ch.remoteAddress() instanceof InetSocketAddress peer && peer.getAddress() != null) {
      return new ClientPeer(peer.getAddress().getHostAddress(),
          trustedProxies.contains(peer.getAddress()), scheme, localPort);
    }
    return new ClientPeer("unknown", false, scheme, localPort);
  }

  boolean tls() {
    return scheme.equals("https");
  }
}
