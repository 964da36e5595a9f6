package io.herd.server.config;

import io.herd.cluster.ClusterConfig;
import io.herd.core.InvalidConfigException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Binds {@code cluster:} to herd-cluster's {@link ClusterConfig}: several gateways sharing their
 * sessions through etcd. What only the file knows is checked here, with lines and fixes — the
 * form of each etcd URL and of {@code advertise}, the defaults derived from {@code listen} and the
 * host name, the pool name appended to {@code prefix}, that peers can reach this gateway in plain
 * HTTP; the library's own validation reports the rest (node name, lease TTL).
 *
 * <p>The fence margin keeps the library's default, half the lease: a gateway that cannot renew
 * fences itself that long before its lease could have expired, and kills its workers (SIGKILL,
 * not {@code worker.stopTimeout}'s graceful stop), so the margin does not depend on the workers.
 *
 * <p>{@code cluster.secret} is never part of a message: only its length is. Stateless.
 */
final class ClusterSection {

  /** {@code cluster.prefix} when none is written; the pool's name is appended. */
  static final String DEFAULT_PREFIX = "/herd";

  private static final String ETCD_EXAMPLE = "[\"http://etcd-1:2379\", \"http://etcd-2:2379\"]";
  private static final String ETCD_EXPECTED = "http(s)://host:port, e.g. http://etcd-1:2379";
  private static final String ADVERTISE_EXPECTED = "host:port or http://host:port where peer"
      + " gateways reach this one, e.g. gw-7.internal:8080";

  /**
   * Library field names that are not YAML keys, mapped to the key whose value decides them (so
   * that they are not reported again once that key's problem is).
   */
  private static final Map<String, String> RENAMES = Map.of(
      "cluster.fenceMargin", "cluster.leaseTtl",
      "cluster.requestTimeout", "cluster.leaseTtl");

  private ClusterSection() {}

  /**
   * What the rest of the file says that {@code cluster:} depends on.
   *
   * @param listen the gateway's address (after {@code --listen}): the default advertise address
   * @param poolName {@code pool.name}, appended to the prefix
   * @param tls whether the front door speaks TLS, which peers' plain-HTTP hops cannot
   * @param hostname this machine's name, for the default node name; asked only when needed
   */
  record Context(HostPort listen, String poolName, boolean tls, Supplier<String> hostname) {}

  /**
   * The cluster settings; empty when {@code cluster:} is absent, or when it had errors (then
   * reported, and {@code present} tells the caller the file is invalid).
   */
  static Optional<ClusterConfig> bind(SectionReader r, boolean present, Context context) {
    if (!present) {
      r.finish();
      return Optional.empty();
    }
    int errorsBefore = r.problems().errors().size();
    List<URI> etcd = etcd(r);
    String secret = secret(r);
    URI advertise = advertise(r, context.listen());
    Optional<String> node = r.string("node");
    int errorsBeforeTtl = r.problems().errors().size();
    Duration leaseTtl = r.duration("leaseTtl", ClusterConfig.DEFAULT_LEASE_TTL);
    if (r.problems().errors().size() == errorsBeforeTtl
        && leaseTtl.compareTo(ClusterConfig.DEFAULT_REQUEST_TIMEOUT) <= 0) {
      // The library accepts 2s, but then one etcd request could outlast the lease.
      r.error("leaseTtl", "cluster.leaseTtl is too short: " + DurationFormat.format(leaseTtl)
          + " (expected: whole seconds > " + DurationFormat.format(
              ClusterConfig.DEFAULT_REQUEST_TIMEOUT) + ", longer than an etcd request may take;"
          + " default 10s)");
    }
    String prefix = prefix(r, context.poolName());
    r.finish();
    if (context.tls()) {
      r.problems().error("cluster", r.line(), "cluster cannot be combined with tls: tls is set"
          + " (expected: no tls section: gateways forward requests to each other in plain HTTP,"
          + " which a TLS front door refuses; terminate TLS in front of the gateways instead)");
    }
    ClusterConfig config;
    try {
      config = ClusterConfig.builder()
          .etcd(etcd.isEmpty() ? List.of(URI.create("http://127.0.0.1:2379")) : etcd)
          .secret(secret)
          .node(node.orElseGet(() -> ClusterConfig.nodeName(
              context.hostname().get(), context.listen().port())))
          .advertise(advertise == null ? URI.create("http://127.0.0.1:1") : advertise)
          .leaseTtl(leaseTtl)
          .prefix(prefix)
          .build();
    } catch (InvalidConfigException e) {
      r.problems().library(e, RENAMES);
      return Optional.empty();
    }
    // The stand-ins above only let the library check the other fields in the same pass.
    return r.problems().errors().size() > errorsBefore ? Optional.empty() : Optional.of(config);
  }

  /** {@code cluster.etcd}: at least one http(s)://host:port; empty when any is wrong. */
  private static List<URI> etcd(SectionReader r) {
    List<String> written = r.stringList("etcd", null, ETCD_EXAMPLE);
    if (written == null) {
      if (!r.has("etcd")) {
        r.error("etcd", "cluster.etcd is missing: none (expected: the etcd client URLs, e.g."
            + " etcd: " + ETCD_EXAMPLE + ")");
      }
      return List.of();
    }
    if (written.isEmpty()) {
      r.error("etcd", "cluster.etcd is empty: [] (expected: at least one etcd client URL, e.g."
          + " etcd: " + ETCD_EXAMPLE + ")");
      return List.of();
    }
    List<URI> uris = new ArrayList<>();
    boolean broken = false;
    for (int i = 0; i < written.size(); i++) {
      String text = written.get(i).trim();
      URI uri = httpUrl(text);
      if (uri == null || !uri.getScheme().matches("https?")
          || !(uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
        String key = r.keyOf("etcd") + "[" + i + "]";
        r.problems().errorAt(key, key + " is not an etcd client URL: " + written.get(i)
            + " (expected: " + ETCD_EXPECTED + ")");
        broken = true;
      } else {
        uris.add(uri);
      }
    }
    return broken ? List.of() : uris;
  }

  /** {@code cluster.secret}, required; its value never appears in a message. */
  private static String secret(SectionReader r) {
    Optional<String> secret = r.string("secret");
    String fix = " (expected: >= " + ClusterConfig.MIN_SECRET_LENGTH + " characters, the same on"
        + " every gateway of the cluster, e.g. secret: ${HERD_CLUSTER_SECRET})";
    if (secret.isEmpty()) {
      if (!r.has("secret")) { // else an environment problem, reported already
        r.error("secret", "cluster.secret is missing: none" + fix);
      }
      return null;
    }
    if (secret.get().isEmpty()) {
      r.error("secret", "cluster.secret is empty: \"\"" + fix);
      return null;
    }
    if (secret.get().length() < ClusterConfig.MIN_SECRET_LENGTH) {
      r.error("secret", "cluster.secret is too short: " + secret.get().length() + " characters"
          + fix);
      return null;
    }
    return secret.get();
  }

  /**
   * {@code cluster.advertise} as an {@code http://host:port} URI; by default the listen address,
   * which then must be one peers can reach. Null when it is wrong (reported).
   */
  private static URI advertise(SectionReader r, HostPort listen) {
    Optional<String> written = r.string("advertise");
    if (written.isEmpty()) {
      if (r.has("advertise")) {
        return null; // an environment problem, reported
      }
      if (isWildcard(listen.host()) || listen.port() == 0) {
        r.error("advertise", "cluster.advertise is missing while listen is not an address peers"
            + " can reach: " + listen + " (expected: cluster.advertise set to this gateway's"
            + " address as its peers reach it, e.g. advertise: gw-7.internal:8080)");
        return null;
      }
      if (listen.isLoopback()) {
        r.warning("advertise", "warning: cluster.advertise defaults to the loopback address of"
            + " listen: " + listen + " (expected: cluster.advertise set to an address peers on"
            + " other hosts reach, unless every gateway runs on this host)");
      }
      return URI.create("http://" + listen); // HostPort brackets an IPv6 host
    }
    String text = written.get().trim();
    URI uri;
    if (text.contains("://")) {
      uri = httpUrl(text);
      if (uri != null && uri.getScheme().equals("https")) {
        r.error("advertise", "cluster.advertise cannot be https: " + text + " (expected: an"
            + " http:// address: gateways forward requests to each other in plain HTTP)");
        return null;
      }
      if (uri != null && !uri.getScheme().equals("http")) {
        uri = null;
      }
      if (uri != null && !(uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
        uri = null;
      }
    } else {
      uri = authority(text);
    }
    if (uri == null) {
      r.error("advertise", "cluster.advertise is not an address: " + text + " (expected: "
          + ADVERTISE_EXPECTED + ")");
      return null;
    }
    if (isWildcard(uri.getHost().replaceAll("^\\[|]$", ""))) {
      r.error("advertise", "cluster.advertise is a wildcard address: " + text + " (expected: "
          + ADVERTISE_EXPECTED + ")");
      return null;
    }
    return URI.create(uri.getScheme() + "://" + uri.getRawAuthority());
  }

  /** {@code host:port} as {@code http://host:port}, or null when it is not one. */
  private static URI authority(String text) {
    try {
      HttpAuthority a = HttpAuthority.parse(text);
      return a.port() < 0 ? null : URI.create("http://" + a);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** {@code scheme://host:port[/]} with a port and nothing else, or null. */
  private static URI httpUrl(String text) {
    try {
      URI uri = new URI(text);
      if (uri.getScheme() == null || uri.getHost() == null || uri.getPort() <= 0
          || uri.getRawUserInfo() != null || uri.getRawQuery() != null
          || uri.getRawFragment() != null) {
        return null;
      }
      return new URI(uri.getScheme().toLowerCase(Locale.ROOT), null, uri.getHost(),
          uri.getPort(), uri.getPath(), null, null);
    } catch (URISyntaxException e) {
      return null;
    }
  }

  /** {@code cluster.prefix} with the pool's name appended: {@code /herd/default}. */
  private static String prefix(SectionReader r, String poolName) {
    String prefix = r.string("prefix", DEFAULT_PREFIX).trim();
    boolean root = prefix.equals("/");
    if (!root && (!prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("//")
        || prefix.chars().anyMatch(c -> c <= ' ' || c >= 127))) {
      r.error("prefix", "cluster.prefix is invalid: " + prefix + " (expected: an etcd key"
          + " prefix starting with '/', without a trailing '/', e.g. /herd; the pool name is"
          + " appended)");
      return DEFAULT_PREFIX + "/" + poolName;
    }
    return (root ? "" : prefix) + "/" + poolName;
  }

  /** Every interface: empty, {@code 0.0.0.0} or {@code ::}. Never resolves a name. */
  private static boolean isWildcard(String host) {
    return host.isEmpty() || HttpAuthority.literal(host.toLowerCase(Locale.ROOT))
        .map(InetAddress::isAnyLocalAddress).orElse(false);
  }
}
