package io.herd.proxy.internal;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;

/**
 * Who is at the other end of a client connection, as the gateway tells workers: the peer's
 * address, whether it is a trusted proxy (whose forwarding headers are believed), the scheme it
 * came over, the gateway port it reached, and the gateway's address as it reached it ({@code
 * host:port}: the {@code Host} of an HTTP/1.0 request that named none). Worked out once per
 * connection: formatting the address showed in profiles when done per request. Immutable.
 */
record ClientPeer(String ip, boolean trusted, String scheme, int localPort, String localAuthority) {

  static ClientPeer of(Channel ch, TrustedProxies trustedProxies) {
    String scheme = ch.pipeline().get(SslHandler.class) != null ? "https" : "http";
    int localPort = 0;
    String localAuthority = "localhost";
    if (ch.localAddress() instanceof InetSocketAddress local) {
      localPort = local.getPort();
      if (local.getAddress() != null) {
        String ip = local.getAddress().getHostAddress();
        int zone = ip.indexOf('%');
        ip = zone < 0 ? ip : ip.substring(0, zone);
        localAuthority = (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + localPort;
      }
    }
    if (ch.remoteAddress() instanceof InetSocketAddress peer && peer.getAddress() != null) {
      return new ClientPeer(peer.getAddress().getHostAddress(),
          trustedProxies.contains(peer.getAddress()), scheme, localPort, localAuthority);
    }
    return new ClientPeer("unknown", false, scheme, localPort, localAuthority);
  }

  /** The same peer, trusted as a proxy: a peer gateway that signed its hop. */
  ClientPeer asTrusted() {
    return trusted ? this : new ClientPeer(ip, true, scheme, localPort, localAuthority);
  }

  boolean tls() {
    return scheme.equals("https");
  }
}
