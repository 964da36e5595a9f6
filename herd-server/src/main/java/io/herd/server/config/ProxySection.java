package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.SessionKeyRule;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Binds {@code proxy:} and the per-session options of {@code session:} to herd-proxy's {@link
 * GatewayOptions}, and {@code session.key} to a {@link SessionKeyRule}. The library's validation
 * supplies the messages; its internal key names are renamed to the YAML ones. Stateless.
 */
final class ProxySection {

  /** Shutdown drains for at most this by default: short enough to stop within a pod's grace. */
  static final Duration DEFAULT_DRAIN = Duration.ofSeconds(5);

  /** The default session key rule. */
  static final String DEFAULT_KEY = "header:X-Session-ID";

  private static final Map<String, String> RENAMES = Map.of(
      "proxy.timeouts.header", "proxy.headerTimeout",
      "proxy.timeouts.idle", "proxy.idleTimeout",
      "proxy.timeouts.body", "proxy.bodyTimeout",
      "proxy.timeouts.connect", "proxy.connectTimeout",
      "proxy.timeouts.response", "proxy.upstreamTimeout");

  private ProxySection() {}

  /** The rule of {@code session.key} in its written form, or null when it is invalid. */
  static String bindKey(SectionReader session) {
    String spec = session.string("key", DEFAULT_KEY);
    try {
      SessionKeyRule.parse(spec);
      return spec;
    } catch (IllegalArgumentException e) {
      session.problems().errorAt("session.key", e.getMessage());
      return null;
    }
  }

  /**
   * The {@code session.*} options of one entry of {@code pools:} (the rest are defaults, unused),
   * or null when they had errors.
   */
  static GatewayOptions bindSession(SectionReader session) {
    GatewayOptions d = GatewayOptions.defaults();
    GatewayOptions.Builder b = GatewayOptions.builder()
        .sessionConcurrency(session.integer("concurrency", d.sessionConcurrency()))
        .sessionQueue(session.integer("queue", d.sessionQueue()))
        .signingSecret(session.string("secret").orElse(null))
        .issueKeys(session.bool("issueKeys", d.issueKeys()))
        .keyTtl(session.optionalDuration("keyTtl").orElse(null));
    try {
      return b.build();
    } catch (InvalidConfigException e) {
      session.problems().library(e, RENAMES);
      return null;
    }
  }

  /** The options, or null when they had errors. */
  static GatewayOptions bind(SectionReader proxy, SectionReader session) {
    GatewayOptions d = GatewayOptions.defaults();
    GatewayOptions.Builder b = GatewayOptions.builder()
        .headerTimeout(proxy.duration("headerTimeout", d.headerTimeout()))
        .idleTimeout(proxy.duration("idleTimeout", d.idleTimeout()))
        .bodyTimeout(proxy.duration("bodyTimeout", d.bodyTimeout()))
        .connectTimeout(proxy.duration("connectTimeout", d.connectTimeout()))
        .responseTimeout(proxy.duration("upstreamTimeout", d.responseTimeout()))
        .drainTimeout(proxy.duration("drainTimeout", DEFAULT_DRAIN))
        .retryAfter(proxy.duration("retryAfter", d.retryAfter()))
        .maxInitialLineLength(proxy.sizeInt("maxInitialLineLength", d.maxInitialLineLength()))
        .maxHeaderSize(proxy.sizeInt("maxHeaderSize", d.maxHeaderSize()))
        .maxChunkSize(proxy.sizeInt("maxChunkSize", d.maxChunkSize()))
        .trustedProxies(proxy.stringList("trustedProxies", List.of()))
        .ioThreads(proxy.integer("ioThreads", d.ioThreads()))
        .maxIdleUpstreamPerWorker(
            proxy.integer("maxIdleUpstreamPerWorker", d.maxIdleUpstreamPerWorker()))
        .allowUnderscoresInHeaders(
            proxy.bool("allowUnderscoresInHeaders", d.allowUnderscoresInHeaders()))
        .devtools(proxy.bool("devtools", d.devtools()))
        .sessionConcurrency(session.integer("concurrency", d.sessionConcurrency()))
        .sessionQueue(session.integer("queue", d.sessionQueue()))
        .signingSecret(session.string("secret").orElse(null))
        .issueKeys(session.bool("issueKeys", d.issueKeys()))
        .keyTtl(session.optionalDuration("keyTtl").orElse(null));
    proxy.finish();
    try {
      return b.build();
    } catch (InvalidConfigException e) {
      proxy.problems().library(e, RENAMES);
      return null;
    }
  }
}
