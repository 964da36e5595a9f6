package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The small value syntaxes: addresses and the key hints (durations and sizes: ValueFormatsTest). */
class SyntaxFormatsTest {

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
