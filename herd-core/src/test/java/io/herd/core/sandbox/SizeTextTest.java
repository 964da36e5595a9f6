package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SizeTextTest {

  @Test
  void bytesAreShownInTheLargestBinaryUnitTheyReach() {
    assertThat(SizeText.bytes(0)).isEqualTo("0 B");
    assertThat(SizeText.bytes(1023)).isEqualTo("1023 B");
    assertThat(SizeText.bytes(1024)).isEqualTo("1 KiB");
    assertThat(SizeText.bytes(512L * 1024 * 1024)).isEqualTo("512 MiB");
    assertThat(SizeText.bytes(1536L * 1024 * 1024)).isEqualTo("1.5 GiB");
    assertThat(SizeText.bytes(5L << 40)).isEqualTo("5 TiB");
    assertThat(SizeText.bytes(1_000_000)).isEqualTo("976.56 KiB");
  }

  @Test
  void negativeSizesAreRefused() {
    assertThatThrownBy(() -> SizeText.bytes(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void numbersLoseTheirUselessFraction() {
    assertThat(SizeText.number(2.0)).isEqualTo("2");
    assertThat(SizeText.number(1.5)).isEqualTo("1.5");
    assertThat(SizeText.number(0.25)).isEqualTo("0.25");
  }
}
