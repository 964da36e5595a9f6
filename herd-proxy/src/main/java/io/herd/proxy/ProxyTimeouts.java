package io.herd.proxy;

import java.time.Duration;
import java.util.Objects;

/**
 * The gateway's timeouts: the part of {@link GatewayOptions} that a running gateway can change
 * ({@link HerdGateway#updateTimeouts}). Each is read when its timer is armed or its connection is
 * opened, so a new value applies to the next request, connection or drain; timers already armed
 * keep theirs. Immutable; validated by {@link GatewayOptions}.
 *
 * @param header see {@link GatewayOptions#headerTimeout()}
 * @param idle see {@link GatewayOptions#idleTimeout()}
 * @param body see {@link GatewayOptions#bodyTimeout()}
 * @param connect see {@link GatewayOptions#connectTimeout()}
 * @param response see {@link GatewayOptions#responseTimeout()}
 * @param drain see {@link GatewayOptions#drainTimeout()}
 */
public record ProxyTimeouts(
    Duration header, Duration idle, Duration body, Duration connect, Duration response,
    Duration drain) {

  public ProxyTimeouts {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(idle, "idle");
    Objects.requireNonNull(body, "body");
    Objects.requireNonNull(connect, "connect");
    Objects.requireNonNull(response, "response");
    Objects.requireNonNull(drain, "drain");
  }

  /** The timeouts of {@code options}. */
  public static ProxyTimeouts of(GatewayOptions options) {
    return new ProxyTimeouts(options.headerTimeout(), options.idleTimeout(),
        options.bodyTimeout(), options.connectTimeout(), options.responseTimeout(),
        options.drainTimeout());
  }
}
