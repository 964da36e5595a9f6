package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.cluster.ClusterConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code cluster:}: the defaults derived from {@code listen}, the host name and {@code pool.name};
 * every key bound; and each wrong value reported with its file, line, key, value and fix — never
 * with the secret in it.
 */
class ClusterSectionTest {

  private static final String WORKER =
      "worker:\n  command: [sh, -c, \"exec sleep 1000\"]\n  stopTimeout: 5s\n";
  private static final String SECRET = "s3cr3t-0123456789-abcdefghij-KLMNOP";
  private static final String SHORT_SECRET = "tooShortSecretXYZ";
  private static final Map<String, String> ENV =
      Map.of("HERD_CLUSTER_SECRET", SECRET, "HERD_SHORT", SHORT_SECRET);

  @TempDir
  static Path dir;

  private static HerdConfig parse(String yaml) {
    return new HerdConfigLoader(ENV, () -> "test host_1").parse("herd.yaml", yaml, dir,
        HerdConfigLoader.Overrides.NONE);
  }

  /** The warnings about cluster keys (the sandbox may warn about the temporary directory). */
  private static List<String> clusterWarnings(HerdConfig c) {
    return c.warnings().stream().map(ConfigProblem::toString)
        .filter(w -> w.contains("cluster.")).toList();
  }

  @Test
  void withoutAClusterSectionThereIsNoCluster() {
    assertThat(parse(WORKER).cluster()).isEmpty();
  }

  @Test
  void defaultsComeFromListenTheHostNameAndThePoolName() {
    HerdConfig c = parse("listen: 127.0.0.1:18080\n" + WORKER
        + "cluster:\n  etcd: [\"http://127.0.0.1:2379\"]\n  secret: ${HERD_CLUSTER_SECRET}\n");

    ClusterConfig cluster = c.cluster().orElseThrow();
    assertThat(cluster.etcd()).containsExactly(URI.create("http://127.0.0.1:2379"));
    assertThat(cluster.secret()).isEqualTo(SECRET);
    assertThat(cluster.advertise()).isEqualTo(URI.create("http://127.0.0.1:18080"));
    assertThat(cluster.node()).as("host name and port, sanitised").isEqualTo("test-host_1-18080");
    assertThat(cluster.leaseTtl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(cluster.prefix()).as("/herd and the pool's name").isEqualTo("/herd/default");
    assertThat(cluster.fenceMargin()).as("half the lease: a fence kills the workers")
        .isEqualTo(Duration.ofSeconds(5));
    assertThat(clusterWarnings(c)).containsExactly(
        "herd.yaml:5: warning: cluster.advertise defaults to the loopback address of listen:"
            + " 127.0.0.1:18080 (expected: cluster.advertise set to an address peers on other"
            + " hosts reach, unless every gateway runs on this host)");
  }

  @Test
  void everyKeyIsBound() {
    HerdConfig c = parse("""
        listen: 0.0.0.0:8080
        worker:
          command: [sh, -c, "exec sleep 1000"]
          stopTimeout: 10s
        pool: { name: api }
        cluster:
          etcd:
            - http://etcd-1:2379
            - https://etcd-2.internal:2379
          secret: "${HERD_CLUSTER_SECRET}"
          advertise: gw-7.internal:8081
          node: gw-7
          leaseTtl: 15s
          prefix: /prod/herd
        """);

    ClusterConfig cluster = c.cluster().orElseThrow();
    assertThat(cluster.etcd()).containsExactly(URI.create("http://etcd-1:2379"),
        URI.create("https://etcd-2.internal:2379"));
    assertThat(cluster.advertise()).isEqualTo(URI.create("http://gw-7.internal:8081"));
    assertThat(cluster.node()).isEqualTo("gw-7");
    assertThat(cluster.leaseTtl()).isEqualTo(Duration.ofSeconds(15));
    assertThat(cluster.prefix()).isEqualTo("/prod/herd/api");
    assertThat(cluster.fenceMargin()).isEqualTo(Duration.ofMillis(7500));
    assertThat(cluster.toString()).doesNotContain(SECRET);
    assertThat(clusterWarnings(c)).isEmpty();
  }

  @Test
  void advertiseMayBeAnHttpUrlOrAnIpv6AddressAndTheRootPrefixTakesThePoolNameAlone() {
    HerdConfig url = parse(WORKER + "pool: { name: api }\ncluster: { etcd: [\"http://e:2379\"],"
        + " secret: \"" + SECRET + "\", advertise: \"http://10.0.0.7:8080/\", prefix: / }\n");
    HerdConfig v6 = parse(WORKER + "cluster: { etcd: [\"http://[::1]:2379\"], secret: \""
        + SECRET + "\", advertise: \"[fd00::7]:8080\" }\n");

    assertThat(url.cluster().orElseThrow().advertise())
        .isEqualTo(URI.create("http://10.0.0.7:8080"));
    assertThat(url.cluster().orElseThrow().prefix()).isEqualTo("/api");
    assertThat(v6.cluster().orElseThrow().advertise())
        .isEqualTo(URI.create("http://[fd00::7]:8080"));
    assertThat(v6.cluster().orElseThrow().etcd())
        .containsExactly(URI.create("http://[::1]:2379"));
  }

  @Test
  void theListenOverrideIsWhatTheDefaultAdvertiseAndNodeComeFrom() {
    HerdConfig c = new HerdConfigLoader(ENV, () -> "h").parse("herd.yaml", WORKER
            + "cluster: { etcd: [\"http://e:2379\"], secret: \"" + SECRET + "\" }\n", dir,
        new HerdConfigLoader.Overrides(new HostPort("127.0.0.2", 18081), null));

    assertThat(c.cluster().orElseThrow().advertise())
        .isEqualTo(URI.create("http://127.0.0.2:18081"));
    assertThat(c.cluster().orElseThrow().node()).isEqualTo("h-18081");
  }

  static Stream<Arguments> brokenFiles() {
    String etcd = "  etcd: [\"http://127.0.0.1:2379\"]\n";
    String secret = "  secret: ${HERD_CLUSTER_SECRET}\n";
    return Stream.of(
        broken("etcd and secret missing",
            WORKER + "cluster:\n  node: gw-1\n",
            "herd.yaml:4: cluster.etcd is missing: none (expected: the etcd client URLs, e.g."
                + " etcd: [\"http://etcd-1:2379\", \"http://etcd-2:2379\"])",
            "herd.yaml:4: cluster.secret is missing: none (expected: >= 32 characters, the same"
                + " on every gateway of the cluster, e.g. secret: ${HERD_CLUSTER_SECRET})"),
        broken("etcd as one string",
            WORKER + "cluster:\n  etcd: http://127.0.0.1:2379\n" + secret,
            "herd.yaml:5: cluster.etcd is a scalar: http://127.0.0.1:2379 (expected: a list of"
                + " strings, e.g. [\"http://etcd-1:2379\", \"http://etcd-2:2379\"])"),
        broken("etcd empty",
            WORKER + "cluster:\n  etcd: []\n" + secret,
            "herd.yaml:5: cluster.etcd is empty: [] (expected: at least one etcd client URL, e.g."
                + " etcd: [\"http://etcd-1:2379\", \"http://etcd-2:2379\"])"),
        broken("etcd URLs without scheme, port, or with a path, each at its line",
            WORKER + "cluster:\n  etcd:\n    - etcd-1:2379\n    - http://etcd-2\n"
                + "    - http://etcd-3:2379/v3\n    - grpc://etcd-4:2379\n" + secret,
            "herd.yaml:6: cluster.etcd[0] is not an etcd client URL: etcd-1:2379 (expected:"
                + " http(s)://host:port, e.g. http://etcd-1:2379)",
            "herd.yaml:7: cluster.etcd[1] is not an etcd client URL: http://etcd-2 (expected:"
                + " http(s)://host:port, e.g. http://etcd-1:2379)",
            "herd.yaml:8: cluster.etcd[2] is not an etcd client URL: http://etcd-3:2379/v3"
                + " (expected: http(s)://host:port, e.g. http://etcd-1:2379)",
            "herd.yaml:9: cluster.etcd[3] is not an etcd client URL: grpc://etcd-4:2379"
                + " (expected: http(s)://host:port, e.g. http://etcd-1:2379)"),
        broken("secret too short, by its length only",
            WORKER + "cluster:\n" + etcd + "  secret: ${HERD_SHORT}\n",
            "herd.yaml:6: cluster.secret is too short: 17 characters (expected: >= 32"
                + " characters, the same on every gateway of the cluster, e.g. secret:"
                + " ${HERD_CLUSTER_SECRET})"),
        broken("secret from an unset variable",
            WORKER + "cluster:\n" + etcd + "  secret: ${HERD_UNSET_SECRET}\n",
            "herd.yaml:6: cluster.secret refers to an unset environment variable:"
                + " ${HERD_UNSET_SECRET} (expected: HERD_UNSET_SECRET set, or a default:"
                + " ${HERD_UNSET_SECRET:-value})"),
        broken("secret empty",
            WORKER + "cluster:\n" + etcd + "  secret: \"\"\n",
            "herd.yaml:6: cluster.secret is empty: \"\" (expected: >= 32 characters, the same on"
                + " every gateway of the cluster, e.g. secret: ${HERD_CLUSTER_SECRET})"),
        broken("default advertise from a wildcard listen",
            "listen: 0.0.0.0:8080\n" + WORKER + "cluster:\n" + etcd + secret,
            "herd.yaml:5: cluster.advertise is missing while listen is not an address peers can"
                + " reach: 0.0.0.0:8080 (expected: cluster.advertise set to this gateway's address"
                + " as its peers reach it, e.g. advertise: gw-7.internal:8080)"),
        broken("default advertise from listen on every interface",
            "listen: \":8080\"\n" + WORKER + "cluster:\n" + etcd + secret,
            "herd.yaml:5: cluster.advertise is missing while listen is not an address peers can"
                + " reach: :8080 (expected: cluster.advertise set to this gateway's address as its"
                + " peers reach it, e.g. advertise: gw-7.internal:8080)"),
        broken("default advertise from listen on port 0",
            "listen: 127.0.0.1:0\n" + WORKER + "cluster:\n" + etcd + secret,
            "herd.yaml:5: cluster.advertise is missing while listen is not an address peers can"
                + " reach: 127.0.0.1:0 (expected: cluster.advertise set to this gateway's address"
                + " as its peers reach it, e.g. advertise: gw-7.internal:8080)"),
        broken("advertise without port, as https, as a wildcard",
            WORKER + "cluster:\n" + etcd + secret + "  advertise: gw-7.internal\n",
            "herd.yaml:7: cluster.advertise is not an address: gw-7.internal (expected: host:port"
                + " or http://host:port where peer gateways reach this one, e.g."
                + " gw-7.internal:8080)"),
        broken("advertise as https",
            WORKER + "cluster:\n" + etcd + secret + "  advertise: https://gw-7:8443\n",
            "herd.yaml:7: cluster.advertise cannot be https: https://gw-7:8443 (expected: an"
                + " http:// address: gateways forward requests to each other in plain HTTP)"),
        broken("advertise as a wildcard",
            WORKER + "cluster:\n" + etcd + secret + "  advertise: 0.0.0.0:8080\n",
            "herd.yaml:7: cluster.advertise is a wildcard address: 0.0.0.0:8080 (expected:"
                + " host:port or http://host:port where peer gateways reach this one, e.g."
                + " gw-7.internal:8080)"),
        broken("node with a space, message from herd-cluster",
            WORKER + "cluster:\n" + etcd + secret + "  node: gw 7\n",
            "herd.yaml:7: cluster.node is invalid: gw 7 (expected: letters, digits, '.', '_' and"
                + " '-', not empty)"),
        broken("lease no longer than an etcd request",
            WORKER + "cluster:\n" + etcd + secret + "  leaseTtl: 2s\n",
            "herd.yaml:7: cluster.leaseTtl is too short: 2s (expected: whole seconds > 2s, longer"
                + " than an etcd request may take; default 10s)"),
        broken("lease in milliseconds below a second",
            WORKER + "cluster:\n" + etcd + secret + "  leaseTtl: 500ms\n",
            "herd.yaml:7: cluster.leaseTtl is too short: 500ms (expected: whole seconds > 2s,"
                + " longer than an etcd request may take; default 10s)"),
        broken("lease in milliseconds, message from herd-cluster",
            WORKER + "cluster:\n" + etcd + secret + "  leaseTtl: 9500ms\n",
            "herd.yaml:7: cluster.leaseTtl is not whole seconds: 9500ms (expected: whole seconds"
                + " (etcd leases count seconds), e.g. 10s)"),
        broken("lease that is not a duration: one message, not two",
            WORKER + "cluster:\n" + etcd + secret + "  leaseTtl: ten\n",
            "herd.yaml:7: cluster.leaseTtl is not a duration: ten (expected: "
                + DurationFormat.EXPECTED + ")"),
        broken("prefix without a leading slash or with a trailing one",
            WORKER + "cluster:\n" + etcd + secret + "  prefix: herd/\n",
            "herd.yaml:7: cluster.prefix is invalid: herd/ (expected: an etcd key prefix starting"
                + " with '/', without a trailing '/', e.g. /herd; the pool name is appended)"),
        broken("unknown key with a hint",
            WORKER + "cluster:\n" + etcd + secret + "  leaseTTL: 15s\n",
            "herd.yaml:7: cluster.leaseTTL is not a known key: did you mean cluster.leaseTtl?"
                + " (expected in cluster: etcd, secret, advertise, node, leaseTtl, prefix)"),
        broken("cluster with tls",
            WORKER + "tls: { cert: c.pem, key: k.pem }\ncluster:\n" + etcd + secret,
            "herd.yaml:4: tls.cert is not a readable file: " + dir.resolve("c.pem")
                + " (expected: the path of a PEM file)",
            "herd.yaml:4: tls.key is not a readable file: " + dir.resolve("k.pem")
                + " (expected: the path of a PEM file)",
            "herd.yaml:5: cluster cannot be combined with tls: tls is set (expected: no tls"
                + " section: gateways forward requests to each other in plain HTTP, which a TLS"
                + " front door refuses; terminate TLS in front of the gateways instead)"),
        broken("a section that is not a mapping",
            WORKER + "cluster: enabled\n",
            "herd.yaml:4: cluster is a scalar: enabled (expected: a mapping)"));
  }

  private static Arguments broken(String name, String yaml, String... expected) {
    return Arguments.of(name, yaml, List.of(expected));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenFiles")
  void brokenClusterSectionReportsExactlyItsProblems(String name, String yaml,
      List<String> expected) {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> parse(yaml));

    assertThat(e).as("%s should be rejected:%n%s", name, yaml).isNotNull();
    assertThat(e.problems()).extracting(ConfigProblem::toString)
        .as("problems of %s", name)
        .containsExactlyElementsOf(expected);
  }

  @Test
  void theSecretIsInNoMessageWhateverElseIsWrong() {
    for (String secret : List.of(SECRET, SHORT_SECRET)) {
      InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
          () -> parse("worker:\n  command: [sh]\ncluster:\n  etcd: [nope]\n  secret: \"" + secret
              + "\"\n  advertise: nowhere\n  node: \"a b\"\n  leaseTtl: 1s\n  prefix: x\n"));

      assertThat(e).isNotNull();
      assertThat(e.problems()).as("every problem is reported").hasSizeGreaterThanOrEqualTo(5);
      assertThat(e.problems()).extracting(ConfigProblem::toString)
          .noneMatch(p -> p.contains(secret));
    }
  }

  @Test
  void aLiteralSecretInAFileOthersCanReadIsAWarning() throws Exception {
    Path file = dir.resolve("literal-secret.yaml");
    Files.writeString(file, WORKER + "cluster:\n  etcd: [\"http://127.0.0.1:2379\"]\n"
        + "  secret: \"" + SECRET + "\"\n  advertise: 10.0.0.7:8080\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    HerdConfig c = new HerdConfigLoader(ENV, () -> "h").load(file,
        HerdConfigLoader.Overrides.NONE);

    assertThat(clusterWarnings(c)).containsExactly(
        file + ":6: warning: cluster.secret is a literal secret in a file other users can read: "
            + file + " (rw-r--r--) (expected: chmod 600 " + file + ", or secret:"
            + " ${HERD_CLUSTER_SECRET} with the value in herd's environment)");
  }
}
