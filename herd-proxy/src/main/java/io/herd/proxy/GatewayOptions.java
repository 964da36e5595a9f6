package io.herd.proxy;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import io.herd.proxy.internal.TrustedProxies;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a {@link HerdGateway} reads requests, talks to workers and sheds load. Immutable and
 * thread-safe; {@link Builder#build()} validates every field and reports all problems at once.
 *
 * <p>Keys in error messages are the YAML keys of the standalone gateway ({@code proxy.…}), so the
 * same message serves library users and operators. The defaults suit an interactive gateway in
 * front of a few dozen workers.
 */
public final class GatewayOptions {

  private final Duration headerTimeout;
  private final Duration idleTimeout;
  private final Duration bodyTimeout;
  private final Duration connectTimeout;
  private final Duration responseTimeout;
  private final int maxInitialLineLength;
  private final int maxHeaderSize;
  private final int maxChunkSize;
  private final int sessionConcurrency;
  private final int sessionQueue;
  private final Duration retryAfter;
  private final List<String> trustedProxies;
  private final TrustedProxies trusted;
  private final byte[] signingSecret;
  private final boolean issueKeys;
  private final Duration keyTtl;
  private final boolean allowUnderscoresInHeaders;
  private final int ioThreads;
  private final int maxIdleUpstreamPerWorker;
  private final Duration drainTimeout;
  private final boolean devtools;

  private GatewayOptions(Builder b, TrustedProxies trusted) {
    this.headerTimeout = b.headerTimeout;
    this.idleTimeout = b.idleTimeout;
    this.bodyTimeout = b.bodyTimeout;
    this.connectTimeout = b.connectTimeout;
    this.responseTimeout = b.responseTimeout;
    this.maxInitialLineLength = b.maxInitialLineLength;
    this.maxHeaderSize = b.maxHeaderSize;
    this.maxChunkSize = b.maxChunkSize;
    this.sessionConcurrency = b.sessionConcurrency;
    this.sessionQueue = b.sessionQueue;
    this.retryAfter = b.retryAfter;
    this.trustedProxies = List.copyOf(b.trustedProxies);
    this.trusted = trusted;
    this.signingSecret = b.signingSecret == null ? null : b.signingSecret.clone();
    this.issueKeys = b.issueKeys;
    this.keyTtl = b.keyTtl;
    this.allowUnderscoresInHeaders = b.allowUnderscoresInHeaders;
    this.ioThreads = b.ioThreads;
    this.maxIdleUpstreamPerWorker = b.maxIdleUpstreamPerWorker;
    this.drainTimeout = b.drainTimeout;
    this.devtools = b.devtools;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The defaults. */
  public static GatewayOptions defaults() {
    return builder().build();
  }

  /** Longest a client may take to send a request's headers once it started (slowloris): 408. */
  public Duration headerTimeout() {
    return headerTimeout;
  }

  /** Longest a keep-alive client connection may sit between requests before it is closed. */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /**
   * Longest a client may stay silent while it owes request body bytes (between two reads, once
   * the request was admitted and forwarding began): 408 when no response has started, else the
   * connection closes. Either way the session's lease is released, so a stalled upload cannot
   * hold a worker.
   */
  public Duration bodyTimeout() {
    return bodyTimeout;
  }

  /** Deadline to open a TCP connection to a worker: 504 when exceeded. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  /**
   * Longest the gateway waits for a worker's response head once the request was forwarded: 504
   * when exceeded. Response bodies have no deadline (streams and SSE may last).
   */
  public Duration responseTimeout() {
    return responseTimeout;
  }

  /** Longest request line accepted: 414 beyond. */
  public int maxInitialLineLength() {
    return maxInitialLineLength;
  }

  /** Longest header block accepted: 431 beyond. */
  public int maxHeaderSize() {
    return maxHeaderSize;
  }

  /** Largest body piece the gateway holds at once, in each direction. */
  public int maxChunkSize() {
    return maxChunkSize;
  }

  /** Concurrent exchanges per session; 0 means unlimited. 1 suits a REPL. */
  public int sessionConcurrency() {
    return sessionConcurrency;
  }

  /** Exchanges of one session that may wait for their turn before 503 (with a limit set). */
  public int sessionQueue() {
    return sessionQueue;
  }

  /** The {@code Retry-After} hint sent with 503 answers. */
  public Duration retryAfter() {
    return retryAfter;
  }

  /**
   * Peers (IP addresses or CIDR blocks) whose {@code X-Forwarded-*} headers are believed; from
   * anyone else they are replaced.
   */
  public List<String> trustedProxies() {
    return trustedProxies;
  }

  /** The parsed form of {@link #trustedProxies()}; for the gateway's internals. */
  public TrustedProxies trusted() {
    return trusted;
  }

  /**
   * When present, session keys must be signed with this secret ({@link SessionKeySigner}); the
   * session is then named by the key's id only.
   */
  public Optional<SessionKeySigner> signer() {
    return signingSecret == null ? Optional.empty()
        : Optional.of(new SessionKeySigner(signingSecret, keyTtl, Clock.systemUTC()));
  }

  /** How long signed keys are valid after they were issued; empty: they never expire. */
  public Optional<Duration> keyTtl() {
    return Optional.ofNullable(keyTtl);
  }

  /**
   * Whether request headers whose names contain {@code _} reach workers. Off by default, because
   * many frameworks fold {@code _} into {@code -} (CGI, WSGI, Rack), so {@code Content_Length} or
   * {@code X_Session_ID} would reach an application as a second, unchecked Content-Length or
   * session key. Even when on, names that fold into a framing, hop-by-hop or forwarding header or
   * the session key header never pass.
   */
  public boolean allowUnderscoresInHeaders() {
    return allowUnderscoresInHeaders;
  }

  /** Whether a client without a key gets a fresh signed one (cookie rules with a secret only). */
  public boolean issueKeys() {
    return issueKeys;
  }

  /** Event-loop threads; 0 means one per available processor. */
  public int ioThreads() {
    return ioThreads;
  }

  /** Keep-alive connections kept open per worker and event loop when idle. */
  public int maxIdleUpstreamPerWorker() {
    return maxIdleUpstreamPerWorker;
  }

  /** How long {@link HerdGateway#close()} lets in-flight exchanges finish. */
  public Duration drainTimeout() {
    return drainTimeout;
  }

  /**
   * Whether the workers are Chromium-style DevTools (CDP) endpoints whose discovery answers
   * ({@code /json/version}, {@code /json}, {@code /json/list}, {@code /json/new}) the gateway
   * rewrites, so that their {@code webSocketDebuggerUrl} and {@code devtoolsFrontendUrl} lead
   * back through the gateway with the session key instead of to the worker's own address. Off by
   * default: no other application's {@code /json} is touched.
   */
  public boolean devtools() {
    return devtools;
  }

  @Override
  public String toString() {
    return "GatewayOptions{headerTimeout=" + headerTimeout + ", idleTimeout=" + idleTimeout
        + ", bodyTimeout=" + bodyTimeout
        + ", connectTimeout=" + connectTimeout + ", responseTimeout=" + responseTimeout
        + ", maxInitialLineLength=" + maxInitialLineLength + ", maxHeaderSize=" + maxHeaderSize
        + ", maxChunkSize=" + maxChunkSize + ", sessionConcurrency=" + sessionConcurrency
        + ", sessionQueue=" + sessionQueue + ", retryAfter=" + retryAfter
        + ", trustedProxies=" + trustedProxies
        + ", signingSecret=" + (signingSecret == null ? "none" : "****")
        + ", issueKeys=" + issueKeys + ", keyTtl=" + (keyTtl == null ? "none" : keyTtl)
        + ", allowUnderscoresInHeaders=" + allowUnderscoresInHeaders + ", ioThreads=" + ioThreads
        + ", maxIdleUpstreamPerWorker=" + maxIdleUpstreamPerWorker
        + ", drainTimeout=" + drainTimeout + ", devtools=" + devtools + "}";
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private Duration headerTimeout = Duration.ofSeconds(10);
    private Duration idleTimeout = Duration.ofSeconds(60);
    private Duration bodyTimeout = Duration.ofSeconds(60);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration responseTimeout = Duration.ofSeconds(60);
    private int maxInitialLineLength = 8192;
    private int maxHeaderSize = 16384;
    private int maxChunkSize = 65536;
    private int sessionConcurrency = 0;
    private int sessionQueue = 1000;
    private Duration retryAfter = Duration.ofSeconds(1);
    private List<String> trustedProxies = List.of();
    private byte[] signingSecret;
    private boolean issueKeys;
    private Duration keyTtl;
    private boolean allowUnderscoresInHeaders;
    private int ioThreads = 0;
    private int maxIdleUpstreamPerWorker = 32;
    private Duration drainTimeout = Duration.ofSeconds(30);
    private boolean devtools;

    private Builder() {}

    public Builder headerTimeout(Duration v) {
      this.headerTimeout = v;
      return this;
    }

    public Builder idleTimeout(Duration v) {
      this.idleTimeout = v;
      return this;
    }

    public Builder bodyTimeout(Duration v) {
      this.bodyTimeout = v;
      return this;
    }

    public Builder connectTimeout(Duration v) {
      this.connectTimeout = v;
      return this;
    }

    public Builder responseTimeout(Duration v) {
      this.responseTimeout = v;
      return this;
    }

    public Builder maxInitialLineLength(int v) {
      this.maxInitialLineLength = v;
      return this;
    }

    public Builder maxHeaderSize(int v) {
      this.maxHeaderSize = v;
      return this;
    }

    public Builder maxChunkSize(int v) {
      this.maxChunkSize = v;
      return this;
    }

    public Builder sessionConcurrency(int v) {
      this.sessionConcurrency = v;
      return this;
    }

    public Builder sessionQueue(int v) {
      this.sessionQueue = v;
      return this;
    }

    public Builder retryAfter(Duration v) {
      this.retryAfter = v;
      return this;
    }

    public Builder trustedProxies(List<String> v) {
      this.trustedProxies = v == null ? null : new ArrayList<>(v);
      return this;
    }

    /** Secret for key signing; UTF-8 bytes of {@code secret}. */
    public Builder signingSecret(String secret) {
      this.signingSecret = secret == null ? null : secret.getBytes(StandardCharsets.UTF_8);
      return this;
    }

    public Builder issueKeys(boolean v) {
      this.issueKeys = v;
      return this;
    }

    /** Lifetime of signed keys; null (the default) for keys that never expire. */
    public Builder keyTtl(Duration v) {
      this.keyTtl = v;
      return this;
    }

    public Builder allowUnderscoresInHeaders(boolean v) {
      this.allowUnderscoresInHeaders = v;
      return this;
    }

    public Builder ioThreads(int v) {
      this.ioThreads = v;
      return this;
    }

    public Builder maxIdleUpstreamPerWorker(int v) {
      this.maxIdleUpstreamPerWorker = v;
      return this;
    }

    public Builder drainTimeout(Duration v) {
      this.drainTimeout = v;
      return this;
    }

    /** See {@link GatewayOptions#devtools()}. */
    public Builder devtools(boolean v) {
      this.devtools = v;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws InvalidConfigException listing every invalid field
     */
    public GatewayOptions build() {
      List<FieldProblem> problems = new ArrayList<>();
      positive(problems, "proxy.timeouts.header", headerTimeout);
      positive(problems, "proxy.timeouts.idle", idleTimeout);
      positive(problems, "proxy.timeouts.body", bodyTimeout);
      positive(problems, "proxy.timeouts.connect", connectTimeout);
      positive(problems, "proxy.timeouts.response", responseTimeout);
      positive(problems, "proxy.retryAfter", retryAfter);
      positive(problems, "proxy.drainTimeout", drainTimeout);
      atLeast(problems, "proxy.maxInitialLineLength", maxInitialLineLength, 256);
      atLeast(problems, "proxy.maxHeaderSize", maxHeaderSize, 1024);
      atLeast(problems, "proxy.maxChunkSize", maxChunkSize, 1024);
      atLeast(problems, "session.concurrency", sessionConcurrency, 0);
      atLeast(problems, "session.queue", sessionQueue, 0);
      atLeast(problems, "proxy.ioThreads", ioThreads, 0);
      atLeast(problems, "proxy.maxIdleUpstreamPerWorker", maxIdleUpstreamPerWorker, 0);
      if (signingSecret != null && signingSecret.length < 16) {
        problems.add(FieldProblem.of("session.secret", signingSecret.length + " bytes",
            "is too short", ">= 16 bytes"));
      }
      if (keyTtl != null) {
        if (keyTtl.isNegative() || keyTtl.getSeconds() < 1) {
          problems.add(FieldProblem.of("session.keyTtl", keyTtl, "is too short", ">= 1s"));
        } else if (signingSecret == null) {
          problems.add(FieldProblem.of("session.keyTtl", keyTtl, "needs a secret",
              "session.secret set"));
        }
      }
      if (issueKeys && signingSecret == null) {
        problems.add(FieldProblem.of("session.issueKeys", true, "needs a secret",
            "session.secret set"));
      }
      TrustedProxies parsed = TrustedProxies.none();
      if (trustedProxies == null) {
        problems.add(FieldProblem.of("proxy.trustedProxies", null, "is missing",
            "a list, maybe empty"));
        trustedProxies = List.of();
      } else {
        boolean valid = true;
        for (String spec : trustedProxies) {
          try {
            TrustedProxies.parse(java.util.Collections.singletonList(spec));
          } catch (IllegalArgumentException e) {
            valid = false;
            problems.add(FieldProblem.of("proxy.trustedProxies", spec, "has a bad entry",
                "an IP address or CIDR block such as 10.0.0.0/8"));
          }
        }
        if (valid) {
          parsed = TrustedProxies.parse(trustedProxies);
        }
      }
      if (!problems.isEmpty()) {
        throw new InvalidConfigException(problems);
      }
      return new GatewayOptions(this, parsed);
    }

    private static void positive(List<FieldProblem> problems, String key, Duration value) {
      if (value == null) {
        problems.add(FieldProblem.of(key, null, "is missing", "a positive duration"));
      } else if (value.isNegative() || value.isZero()) {
        problems.add(FieldProblem.of(key, value, "is not positive", "> 0"));
      }
    }

    private static void atLeast(List<FieldProblem> problems, String key, int value, int min) {
      if (value < min) {
        problems.add(FieldProblem.of(key, value, "is too small", ">= " + min));
      }
    }
  }
}
