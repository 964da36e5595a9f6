package io.herd.cluster;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How this gateway joins a cluster: the etcd endpoints, the shared secret that signs hops between
 * gateways, this gateway's node name and the address peers reach it at, the lease TTL that bounds
 * how long a dead gateway's sessions stay claimed, the etcd key prefix, and the timing of the
 * fence.
 *
 * <p>Immutable. The constructor validates every field and reports all problems at once in an {@link
 * InvalidConfigException}, with the library's field names ({@code cluster.etcd[0]}, {@code
 * cluster.leaseTtl}, ...). A {@code null} {@code leaseTtl}, {@code fenceMargin} or {@code
 * requestTimeout} means its default. {@link #toString()} masks the secret.
 *
 * <p><b>Fencing.</b> A gateway that could not renew its lease stops serving and stops its workers
 * {@code fenceMargin} before the lease could possibly have expired in etcd (measured on its own
 * monotonic clock from the send time of the last acknowledged renewal). The margin must cover the
 * time its workers take to exit — their stop timeout plus a little — so that a peer can never claim
 * one of its keys while its worker still runs.
 *
 * @param etcd etcd client endpoints, e.g. {@code http://127.0.0.1:2379}; at least one, http or
 *     https with host and port
 * @param secret shared by every gateway of the cluster, at least 32 characters
 * @param node this gateway's name, unique in the cluster, e.g. {@code gw-7}: letters, digits,
 *     {@code .}, {@code _} and {@code -}
 * @param advertise where peers reach this gateway's proxy, e.g. {@code http://10.0.0.7:8080}
 * @param leaseTtl the etcd lease TTL, whole seconds, at least 2 s (default 10 s): a dead gateway's
 *     sessions are claimable this long after its last renewal
 * @param prefix the etcd key prefix including the pool name, e.g. {@code /herd/default}: starts
 *     with {@code /}, no trailing {@code /}
 * @param fenceMargin how long before the lease could have expired the gateway fences itself;
 *     positive and below {@code leaseTtl} (default {@code leaseTtl / 2})
 * @param requestTimeout how long one etcd request may take before it counts as failed; positive and
 *     below {@code leaseTtl} (default 2 s)
 */
public record ClusterConfig(
    List<URI> etcd,
    String secret,
    String node,
    URI advertise,
    Duration leaseTtl,
    String prefix,
    Duration fenceMargin,
    Duration requestTimeout) {

  /** The lease TTL when none is given. */
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);

  /** The etcd request timeout when none is given. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(2);

  /** The shortest secret accepted. */
  public static final int MIN_SECRET_LENGTH = 32;

  private static final Duration MIN_LEASE_TTL = Duration.ofSeconds(2);
  private static final Pattern NODE = Pattern.compile("[A-Za-z0-9._-]+");
  private static final Pattern NOT_NODE = Pattern.compile("[^A-Za-z0-9._-]+");

  public ClusterConfig {
    // Copied so that a null element is reported as a problem rather than thrown by List.copyOf.
    etcd = etcd == null ? null : Collections.unmodifiableList(new ArrayList<>(etcd));
    leaseTtl = leaseTtl == null ? DEFAULT_LEASE_TTL : leaseTtl;
    fenceMargin = fenceMargin == null ? leaseTtl.dividedBy(2) : fenceMargin;
    requestTimeout = requestTimeout == null ? DEFAULT_REQUEST_TIMEOUT : requestTimeout;
    List<FieldProblem> problems = new ArrayList<>();
    checkEtcd(problems, etcd);
    checkSecret(problems, secret);
    checkNode(problems, node);
    checkAdvertise(problems, advertise);
    checkLeaseTtl(problems, leaseTtl);
    checkPrefix(problems, prefix);
    checkBelowTtl(problems, "cluster.fenceMargin", fenceMargin, leaseTtl);
    checkBelowTtl(problems, "cluster.requestTimeout", requestTimeout, leaseTtl);
    if (!problems.isEmpty()) {
      throw new InvalidConfigException(problems);
    }
  }

  /** The six settings of the issue's {@code cluster:} section; the fence timings by default. */
  public ClusterConfig(
      List<URI> etcd, String secret, String node, URI advertise, Duration leaseTtl, String prefix) {
    this(etcd, secret, node, advertise, leaseTtl, prefix, null, null);
  }

  /** A builder; {@code etcd}, {@code secret}, {@code node}, {@code advertise}, {@code prefix}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values, to derive a changed copy. */
  public Builder toBuilder() {
    return new Builder()
        .etcd(etcd)
        .secret(secret)
        .node(node)
        .advertise(advertise)
        .leaseTtl(leaseTtl)
        .prefix(prefix)
        .fenceMargin(fenceMargin)
        .requestTimeout(requestTimeout);
  }

  /**
   * A valid node name made from a host and port, e.g. {@code gw-7.internal} and 8080 give {@code
   * gw-7.internal-8080}: every run of other characters becomes {@code -}.
   */
  public static String nodeName(String host, int port) {
    String name = NOT_NODE.matcher(host + "-" + port).replaceAll("-");
    return name.replaceAll("^-+", "").isEmpty() ? "node-" + port : name;
  }

  @Override
  public String toString() {
    return "ClusterConfig[etcd="
        + etcd
        + ", secret=***, node="
        + node
        + ", advertise="
        + advertise
        + ", leaseTtl="
        + leaseTtl
        + ", prefix="
        + prefix
        + ", fenceMargin="
        + fenceMargin
        + ", requestTimeout="
        + requestTimeout
        + "]";
  }

  private static void checkEtcd(List<FieldProblem> problems, List<URI> etcd) {
    if (etcd == null || etcd.isEmpty()) {
      problems.add(
          FieldProblem.of("cluster.etcd", etcd, "is missing", "at least one http(s)://host:port"));
      return;
    }
    for (int i = 0; i < etcd.size(); i++) {
      String field = "cluster.etcd[" + i + "]";
      URI uri = etcd.get(i);
      if (!isHostPortUrl(uri)) {
        problems.add(
            FieldProblem.of(field, uri, "is not an etcd client URL", "http(s)://host:port"));
      }
    }
  }

  private static void checkSecret(List<FieldProblem> problems, String secret) {
    if (secret == null || secret.isBlank()) {
      problems.add(
          FieldProblem.of(
              "cluster.secret",
              "(empty)",
              "is missing",
              ">= " + MIN_SECRET_LENGTH + " characters"));
    } else if (secret.length() < MIN_SECRET_LENGTH) {
      // The value itself is never shown: only its length.
      problems.add(
          FieldProblem.of(
              "cluster.secret",
              "(" + secret.length() + " characters)",
              "is too short",
              ">= " + MIN_SECRET_LENGTH + " characters"));
    }
  }

  private static void checkNode(List<FieldProblem> problems, String node) {
    if (node == null || !NODE.matcher(node).matches()) {
      problems.add(
          FieldProblem.of(
              "cluster.node", node, "is invalid", "letters, digits, '.', '_' and '-', not empty"));
    }
  }

  private static void checkAdvertise(List<FieldProblem> problems, URI advertise) {
    boolean ok =
        isHostPortUrl(advertise)
            && (advertise.getRawPath() == null
                || advertise.getRawPath().isEmpty()
                || advertise.getRawPath().equals("/"));
    if (!ok) {
      problems.add(
          FieldProblem.of(
              "cluster.advertise", advertise, "is not a gateway address", "http(s)://host:port"));
    }
  }

  private static void checkLeaseTtl(List<FieldProblem> problems, Duration ttl) {
    if (ttl.compareTo(MIN_LEASE_TTL) < 0) {
      problems.add(FieldProblem.of("cluster.leaseTtl", format(ttl), "is too short", ">= 2s"));
    } else if (ttl.toNanos() % 1_000_000_000L != 0) {
      problems.add(
          FieldProblem.of(
              "cluster.leaseTtl",
              format(ttl),
              "is not whole seconds",
              "whole seconds (etcd leases count seconds), e.g. 10s"));
    }
  }

  private static void checkPrefix(List<FieldProblem> problems, String prefix) {
    if (prefix == null
        || prefix.length() < 2
        || !prefix.startsWith("/")
        || prefix.endsWith("/")
        || prefix.contains("//")) {
      problems.add(
          FieldProblem.of(
              "cluster.prefix",
              prefix,
              "is invalid",
              "starts with '/', no trailing '/', e.g. /herd/default"));
    }
  }

  private static void checkBelowTtl(
      List<FieldProblem> problems, String field, Duration value, Duration ttl) {
    if (value.isNegative() || value.isZero()) {
      problems.add(FieldProblem.of(field, format(value), "is not positive", "> 0"));
    } else if (value.compareTo(ttl) >= 0) {
      problems.add(
          FieldProblem.of(
              field, format(value), "is not below cluster.leaseTtl", "< " + format(ttl)));
    }
  }

  private static boolean isHostPortUrl(URI uri) {
    if (uri == null || uri.getScheme() == null) {
      return false;
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    return (scheme.equals("http") || scheme.equals("https"))
        && uri.getHost() != null
        && uri.getPort() > 0
        && uri.getRawUserInfo() == null
        && uri.getRawQuery() == null
        && uri.getRawFragment() == null;
  }

  private static String format(Duration d) {
    long millis = d.toMillis();
    return millis % 1000 == 0 ? (millis / 1000) + "s" : millis + "ms";
  }

  /** Assembles a {@link ClusterConfig}. Not thread-safe. */
  public static final class Builder {
    private List<URI> etcd;
    private String secret;
    private String node;
    private URI advertise;
    private Duration leaseTtl;
    private String prefix;
    private Duration fenceMargin;
    private Duration requestTimeout;

    private Builder() {}

    /** etcd client endpoints. */
    public Builder etcd(List<URI> etcd) {
      this.etcd = etcd;
      return this;
    }

    /** etcd client endpoints. */
    public Builder etcd(URI... etcd) {
      this.etcd = List.of(etcd);
      return this;
    }

    /** The secret shared by the cluster's gateways. */
    public Builder secret(String secret) {
      this.secret = secret;
      return this;
    }

    /** This gateway's node name. */
    public Builder node(String node) {
      this.node = node;
      return this;
    }

    /** Where peers reach this gateway. */
    public Builder advertise(URI advertise) {
      this.advertise = advertise;
      return this;
    }

    /** The lease TTL; default 10 s. */
    public Builder leaseTtl(Duration leaseTtl) {
      this.leaseTtl = leaseTtl;
      return this;
    }

    /** The etcd key prefix including the pool name. */
    public Builder prefix(String prefix) {
      this.prefix = prefix;
      return this;
    }

    /** How long before the lease could have expired the gateway fences itself; default TTL/2. */
    public Builder fenceMargin(Duration fenceMargin) {
      this.fenceMargin = fenceMargin;
      return this;
    }

    /** The timeout of one etcd request; default 2 s. */
    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    /**
     * The config.
     *
     * @throws InvalidConfigException listing every invalid field
     */
    public ClusterConfig build() {
      return new ClusterConfig(
          etcd, secret, node, advertise, leaseTtl, prefix, fenceMargin, requestTimeout);
    }
  }
}
