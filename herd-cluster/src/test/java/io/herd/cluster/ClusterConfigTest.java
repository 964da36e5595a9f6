package io.herd.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterConfigTest {

  private static ClusterConfig.Builder valid() {
    return ClusterConfig.builder()
        .etcd(URI.create("http://127.0.0.1:2379"))
        .secret("s".repeat(32))
        .node("gw-7")
        .advertise(URI.create("http://gw-7.internal:8080"))
        .prefix("/herd/default");
  }

  private static List<FieldProblem> problems(ClusterConfig.Builder builder) {
    try {
      builder.build();
    } catch (InvalidConfigException e) {
      return e.fieldProblems();
    }
    throw new AssertionError("expected an InvalidConfigException");
  }

  @Test
  void defaultsFollowTheLeaseTtl() {
    ClusterConfig config = valid().build();
    assertThat(config.leaseTtl()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.fenceMargin()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.requestTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(valid().leaseTtl(Duration.ofSeconds(30)).build().fenceMargin())
        .isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void theSixArgumentConstructorOfTheIssueStillWorks() {
    ClusterConfig config =
        new ClusterConfig(
            List.of(URI.create("https://etcd-1:2379")),
            "x".repeat(40),
            "gw-1",
            URI.create("http://10.0.0.7:8080"),
            Duration.ofSeconds(4),
            "/herd/pool");
    assertThat(config.fenceMargin()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void everyBadFieldIsNamedAtOnce() {
    List<FieldProblem> problems =
        problems(
            ClusterConfig.builder()
                .etcd(URI.create("tcp://etcd:2379"), URI.create("http://etcd"))
                .secret("short")
                .node("gw 7")
                .advertise(URI.create("gw-7:8080"))
                .leaseTtl(Duration.ofSeconds(1))
                .prefix("herd/")
                .fenceMargin(Duration.ZERO)
                .requestTimeout(Duration.ofSeconds(5)));
    assertThat(problems)
        .extracting(FieldProblem::field)
        .containsExactly(
            "cluster.etcd[0]",
            "cluster.etcd[1]",
            "cluster.secret",
            "cluster.node",
            "cluster.advertise",
            "cluster.leaseTtl",
            "cluster.prefix",
            "cluster.fenceMargin",
            "cluster.requestTimeout");
  }

  @Test
  void missingFieldsAreNamed() {
    assertThat(problems(ClusterConfig.builder()))
        .extracting(FieldProblem::field)
        .containsExactly(
            "cluster.etcd",
            "cluster.secret",
            "cluster.node",
            "cluster.advertise",
            "cluster.prefix");
  }

  @Test
  void theSecretNeverAppearsInAMessageOrInToString() {
    String secret = "not-long-enough-" + "q".repeat(10);
    assertThatThrownBy(() -> valid().secret(secret).build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("cluster.secret is too short: (26 characters)")
        .hasMessageNotContaining(secret);
    String good = "g".repeat(50);
    assertThat(valid().secret(good).build().toString()).doesNotContain(good).contains("secret=***");
  }

  @Test
  void fenceMarginMustBeBelowTheLeaseTtl() {
    assertThat(problems(valid().leaseTtl(Duration.ofSeconds(4)).fenceMargin(Duration.ofSeconds(4))))
        .extracting(FieldProblem::message)
        .containsExactly("cluster.fenceMargin is not below cluster.leaseTtl: 4s (expected: < 4s)");
  }

  @Test
  void leaseTtlIsWholeSeconds() {
    assertThat(problems(valid().leaseTtl(Duration.ofMillis(2500))))
        .extracting(FieldProblem::message)
        .containsExactly(
            "cluster.leaseTtl is not whole seconds: 2500ms (expected: whole seconds (etcd leases"
                + " count seconds), e.g. 10s)");
  }

  @Test
  void advertiseNeedsAnExplicitPortAndNoPath() {
    assertThat(problems(valid().advertise(URI.create("http://gw-7"))))
        .extracting(FieldProblem::field)
        .containsExactly("cluster.advertise");
    assertThat(problems(valid().advertise(URI.create("http://gw-7:8080/app"))))
        .extracting(FieldProblem::field)
        .containsExactly("cluster.advertise");
    assertThat(valid().advertise(URI.create("https://gw-7:8443/")).build().advertise().getPort())
        .isEqualTo(8443);
  }

  @Test
  void nodeNameIsDerivedFromHostAndPort() {
    assertThat(ClusterConfig.nodeName("gw-7.internal", 8080)).isEqualTo("gw-7.internal-8080");
    assertThat(ClusterConfig.nodeName("fe80::1%eth0", 80)).isEqualTo("fe80-1-eth0-80");
    assertThat(valid().node(ClusterConfig.nodeName("a b", 1)).build().node()).isEqualTo("a-b-1");
  }

  @Test
  void toBuilderCopiesEveryField() {
    ClusterConfig config = valid().leaseTtl(Duration.ofSeconds(8)).build();
    assertThat(config.toBuilder().build()).isEqualTo(config);
  }
}
