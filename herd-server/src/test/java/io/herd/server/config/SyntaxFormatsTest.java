package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The small value syntaxes: durations, sizes, addresses, and the key hints. */
class SyntaxFormatsTest {

  @Test
  void durationsNeedAUnit() {
    assertThat(DurationFormat.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(DurationFormat.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(DurationFormat.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(DurationFormat.parse("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(DurationFormat.parse("2d")).isEqualTo(Duration.ofDays(2));
    for (String bad : List.of("300", "5 minutes", "-1s", "1.5s", "", "s")) {
      assertThatThrownBy(() -> DurationFormat.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(DurationFormat.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(DurationFormat.format(Duration.ofMinutes(5))).isEqualTo("5m");
  }

  @Test
  void sizesTakeBinaryAndDecimalUnits() {
    assertThat(ByteSizeFormat.parse("64MiB")).isEqualTo(64L << 20);
    assertThat(ByteSizeFormat.parse("2GiB")).isEqualTo(2L << 30);
    assertThat(ByteSizeFormat.parse("16KiB")).isEqualTo(16384);
    assertThat(ByteSizeFormat.parse("1KB")).isEqualTo(1000);
    assertThat(ByteSizeFormat.parse("512")).isEqualTo(512);
    assertThat(ByteSizeFormat.parse("512B")).isEqualTo(512);
    assertThatThrownBy(() -> ByteSizeFormat.parse("1TiB")).isInstanceOf(
        IllegalArgumentException.class);
  }

  @Test
  void addressesAcceptIpv4Ipv6NamesAndAnyInterface() {
    assertThat(HostPort.parse("127.0.0.1:8080")).isEqualTo(new HostPort("127.0.0.1", 8080));
    assertThat(HostPort.parse("[::1]:8080")).isEqualTo(new HostPort("::1", 8080));
    assertThat(HostPort.parse(":8080")).isEqualTo(new HostPort("", 8080));
    assertThat(HostPort.parse("localhost:0").isLoopback()).isTrue();
    assertThat(HostPort.parse("0.0.0.0:1").isLoopback()).isFalse();
    assertThat(HostPort.parse(":1").isLoopback()).isFalse();
    assertThat(HostPort.parse("[::1]:9").toString()).isEqualTo("[::1]:9");
    for (String bad : List.of("8080", "host:", "::1:80", "a:65536", "a:-1")) {
      assertThatThrownBy(() -> HostPort.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void keyHintsCatchTyposButNotUnrelatedWords() {
    List<String> known = List.of("listen", "admin", "session", "worker", "pool", "proxy", "tls");
    assertThat(KeySuggestions.closest("lisen", known)).isEqualTo("listen");
    assertThat(KeySuggestions.closest("wroker", known)).isEqualTo("worker");
    assertThat(KeySuggestions.closest("Pool", known)).isEqualTo("pool");
    assertThat(KeySuggestions.closest("sandbox", known)).isNull();
  }
}
