package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every size key and every duration key of a file goes through the one grammar of each: {@code
 * proxy.maxChunkSize: 64m} is read as {@code sandbox.memory: 64m} is, and a bad value is reported
 * at its file and line with the accepted forms.
 */
class ValueFormatKeysTest {

  private static final String WORKER = "worker:\n  command: [sh, -c, \"exec sleep 1000\"]\n";

  @TempDir
  Path dir;

  private HerdConfig parse(String yaml) {
    return new HerdConfigLoader(Map.of()).parse("herd.yaml", yaml, dir,
        HerdConfigLoader.Overrides.NONE);
  }

  private List<String> problems(String yaml) {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> parse(yaml));
    assertThat(e).as("rejected:%n%s", yaml).isNotNull();
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  void everySizeKeyTakesTheSameForms() {
    HerdConfig c = parse(WORKER
        + "proxy: { maxChunkSize: 64m, maxHeaderSize: 16KiB, maxInitialLineLength: 0.5k }\n"
        + "sandbox: { memory: 1.5GiB }\n");
    assertThat(c.proxy().maxChunkSize()).isEqualTo(64 << 20);
    assertThat(c.proxy().maxHeaderSize()).isEqualTo(16 << 10);
    assertThat(c.proxy().maxInitialLineLength()).isEqualTo(512);
    assertThat(c.worker().sandbox().memoryBytes()).isEqualTo(3L << 29);

    HerdConfig other = parse(WORKER
        + "proxy: { maxChunkSize: 64MiB }\nsandbox: { memory: 512m }\n");
    assertThat(other.proxy().maxChunkSize()).isEqualTo(64 << 20);
    assertThat(other.worker().sandbox().memoryBytes()).isEqualTo(512L << 20);
    assertThat(parse(WORKER + "sandbox: { memory: 1000000000 }\n").worker().sandbox()
        .memoryBytes()).isEqualTo(1_000_000_000L);
    assertThat(parse(WORKER + "sandbox: { memory: 0 }\n").worker().sandbox().memoryBytes())
        .as("no limit").isZero();
  }

  @Test
  void everyDurationKeyTakesTheSameForms() {
    HerdConfig c = parse(WORKER
        + "  health: { interval: 1.5s, timeout: 750ms }\n"
        + "  startTimeout: 1m30s\n"
        + "pool: { ttl: 1h30m, acquireTimeout: 2.5s }\n"
        + "proxy: { idleTimeout: 0.5m, drainTimeout: 1s500ms }\n");
    assertThat(c.pool().healthInterval()).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.pool().healthTimeout()).isEqualTo(Duration.ofMillis(750));
    assertThat(c.worker().startTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.pool().ttl()).isEqualTo(Duration.ofMinutes(90));
    assertThat(c.pool().acquireTimeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(c.proxy().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.proxy().drainTimeout()).isEqualTo(Duration.ofMillis(1500));
  }

  @Test
  void badSizesAreReportedAtTheirLines() {
    assertThat(problems(WORKER
        + "proxy:\n"
        + "  maxChunkSize: -64m\n"
        + "  maxHeaderSize: 0.1k\n"
        + "sandbox:\n"
        + "  memory: 512 parsecs\n"))
        .containsExactly(
            "herd.yaml:4: proxy.maxChunkSize is negative: -64m (expected: "
                + ByteSizeFormat.EXPECTED + ")",
            "herd.yaml:5: proxy.maxHeaderSize is not a whole number of bytes: 0.1k (expected: "
                + ByteSizeFormat.EXPECTED + ")",
            "herd.yaml:7: sandbox.memory has an unknown unit parsecs: 512 parsecs (expected: "
                + ByteSizeFormat.EXPECTED + ")");
  }

  @Test
  void badDurationsAreReportedAtTheirLines() {
    assertThat(problems(WORKER
        + "  stopTimeout: 500us\n"
        + "pool:\n"
        + "  ttl: 30s1m\n"
        + "  acquireTimeout: 5M\n"
        + "proxy:\n"
        + "  idleTimeout: -1s\n"))
        .containsExactly(
            "herd.yaml:3: worker.stopTimeout is finer than milliseconds: 500us (expected: "
                + DurationFormat.EXPECTED + ")",
            "herd.yaml:5: pool.ttl has units out of order or repeated: 30s1m (expected: "
                + DurationFormat.EXPECTED + ")",
            "herd.yaml:6: pool.acquireTimeout has an upper-case unit: 5M (expected: "
                + DurationFormat.EXPECTED + ")",
            "herd.yaml:8: proxy.idleTimeout is negative: -1s (expected: "
                + DurationFormat.EXPECTED + ")");
  }
}
