package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SessionKeysTest {

  @Test
  void aKeyIsDecodedExactlyOnce() {
    assertThat(SessionKeys.decode("a%2Fb")).isEqualTo("a/b");
    assertThat(SessionKeys.decode("a%252Fb")).isEqualTo("a%2Fb");
    assertThat(SessionKeys.decode("a+b")).as("+ is literal in a path").isEqualTo("a+b");
    assertThat(SessionKeys.decodeQueryComponent("a+b")).as("+ is a space in a query").isEqualTo("a b");
    assertThat(SessionKeys.decode("%C3%A9")).isEqualTo("é");
    assertThat(SessionKeys.decode("plain")).isEqualTo("plain");
  }

  @Test
  void brokenEscapesAreRefusedSayingWhere() {
    for (String bad : new String[] {"a%", "a%2", "a%zz", "%g0"}) {
      assertThatThrownBy(() -> SessionKeys.decode(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("percent-escape");
    }
    assertThatThrownBy(() -> SessionKeys.decode("%C3")).hasMessageContaining("UTF-8");
  }

  @Test
  void validKeysAreShortVisibleAscii() {
    assertThat(SessionKeys.isValid("a")).isTrue();
    assertThat(SessionKeys.isValid("k".repeat(256))).isTrue();
    assertThat(SessionKeys.isValid("k".repeat(257))).isFalse();
    assertThat(SessionKeys.isValid("")).isFalse();
    assertThat(SessionKeys.isValid("a b")).isFalse();
    assertThat(SessionKeys.isValid("a\nb")).isFalse();
    assertThat(SessionKeys.isValid("é")).isFalse();
    assertThat(SessionKeys.isValid(null)).isFalse();
  }
}
