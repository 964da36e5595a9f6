package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The duration and size grammars, case by case: what each form means, and why others fail. */
class ValueFormatsTest {

  static Stream<Arguments> durations() {
    return Stream.of(
        Arguments.of("250ms", Duration.ofMillis(250)),
        Arguments.of("30s", Duration.ofSeconds(30)),
        Arguments.of("5m", Duration.ofMinutes(5)),
        Arguments.of("2h", Duration.ofHours(2)),
        Arguments.of("1d", Duration.ofDays(1)),
        Arguments.of("1.5s", Duration.ofMillis(1500)),
        Arguments.of("0.5h", Duration.ofMinutes(30)),
        Arguments.of("1m30s", Duration.ofSeconds(90)),
        Arguments.of("1h30m", Duration.ofMinutes(90)),
        Arguments.of("2s500ms", Duration.ofMillis(2500)),
        Arguments.of("1d2h3m4s5ms", Duration.ofDays(1).plusHours(2).plusMinutes(3)
            .plusSeconds(4).plusMillis(5)),
        Arguments.of("0.5ms", Duration.ofNanos(500_000)),
        Arguments.of(" 10s ", Duration.ofSeconds(10)),
        Arguments.of("0", Duration.ZERO),
        Arguments.of("0s", Duration.ZERO));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("durations")
  void durationMeans(String text, Duration expected) {
    assertThat(DurationFormat.parse(text)).isEqualTo(expected);
    assertThat(DurationFormat.parse(DurationFormat.format(expected)))
        .as("format is parsed back").isEqualTo(expected);
  }

  static Stream<Arguments> badDurations() {
    return Stream.of(
        Arguments.of("300", "has no unit"),
        Arguments.of("1.5", "has no unit"),
        Arguments.of("1m30", "has no unit"),
        Arguments.of("-1s", "is negative"),
        Arguments.of("-0.5m", "is negative"),
        Arguments.of("30s1m", "has units out of order or repeated"),
        Arguments.of("1s1s", "has units out of order or repeated"),
        Arguments.of("500us", "is finer than milliseconds"),
        Arguments.of("10ns", "is finer than milliseconds"),
        Arguments.of("5M", "has an upper-case unit"),
        Arguments.of("5S", "has an upper-case unit"),
        Arguments.of("5w", "has an unknown unit w"),
        Arguments.of("5 minutes", "is not a duration"),
        Arguments.of("1 m", "is not a duration"),
        Arguments.of("forever", "is not a duration"),
        Arguments.of("s", "is not a duration"),
        Arguments.of(".5s", "is not a duration"),
        Arguments.of("", "is empty"),
        Arguments.of("999999999999d", "is too long"));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("badDurations")
  void durationRefused(String text, String problem) {
    ValueFormatException e = catchThrowableOfType(ValueFormatException.class,
        () -> DurationFormat.parse(text));
    assertThat(e).as(text).isNotNull();
    assertThat(e.problem()).isEqualTo(problem);
  }

  @Test
  void durationsFormatLargestUnitFirst() {
    assertThat(DurationFormat.format(Duration.ofMillis(1500))).isEqualTo("1s500ms");
    assertThat(DurationFormat.format(Duration.ofSeconds(90))).isEqualTo("1m30s");
    assertThat(DurationFormat.format(Duration.ofMinutes(5))).isEqualTo("5m");
    assertThat(DurationFormat.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(DurationFormat.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(DurationFormat.format(Duration.ofNanos(1_500_000))).isEqualTo("1.5ms");
  }

  static Stream<Arguments> sizes() {
    return Stream.of(
        Arguments.of("16384", 16384L),
        Arguments.of("512B", 512L),
        Arguments.of("0", 0L),
        Arguments.of("64k", 64L << 10),
        Arguments.of("512m", 512L << 20),
        Arguments.of("512M", 512L << 20),
        Arguments.of("2g", 2L << 30),
        Arguments.of("1t", 1L << 40),
        Arguments.of("16KiB", 16L << 10),
        Arguments.of("64MiB", 64L << 20),
        Arguments.of("64mib", 64L << 20),
        Arguments.of("2GiB", 2L << 30),
        Arguments.of("1TiB", 1L << 40),
        Arguments.of("1.5GiB", 3L << 29),
        Arguments.of("0.5k", 512L),
        Arguments.of("256Mi", 256L << 20),
        Arguments.of("1Gi", 1L << 30),
        Arguments.of("1KB", 1000L),
        Arguments.of("500MB", 500_000_000L),
        Arguments.of("2GB", 2_000_000_000L),
        Arguments.of("1TB", 1_000_000_000_000L),
        Arguments.of("1.5MB", 1_500_000L),
        Arguments.of("64 MiB", 64L << 20));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("sizes")
  void sizeMeans(String text, long expected) {
    assertThat(ByteSizeFormat.parse(text)).isEqualTo(expected);
    assertThat(ByteSizeFormat.parse(ByteSizeFormat.format(expected)))
        .as("format is parsed back").isEqualTo(expected);
  }

  static Stream<Arguments> badSizes() {
    return Stream.of(
        Arguments.of("-1", "is negative"),
        Arguments.of("-64m", "is negative"),
        Arguments.of("0.1k", "is not a whole number of bytes"),
        Arguments.of("1.5", "is not a whole number of bytes"),
        Arguments.of("64 parsecs", "has an unknown unit parsecs"),
        Arguments.of("64mb/s", "is not a size"),
        Arguments.of("64Mbit", "has an unknown unit Mbit"),
        Arguments.of("lots", "is not a size"),
        Arguments.of("", "is empty"),
        Arguments.of("99999999999t", "is too large"));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("badSizes")
  void sizeRefused(String text, String problem) {
    ValueFormatException e = catchThrowableOfType(ValueFormatException.class,
        () -> ByteSizeFormat.parse(text));
    assertThat(e).as(text).isNotNull();
    assertThat(e.problem()).isEqualTo(problem);
  }
}
