package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's strictness and key-lifetime settings, bound from YAML and checked by herd-proxy. */
class ProxySectionTest {

  private static final String WORKER = "worker:\n  command: [sh, -c, \"exec sleep 1000\"]\n";

  @TempDir
  Path dir;

  private HerdConfig parse(String yaml) {
    return new HerdConfigLoader(Map.of()).parse("herd.yaml", yaml, dir,
        HerdConfigLoader.Overrides.NONE);
  }

  @Test
  void bodyTimeoutUnderscoresAndKeyTtlAreBound() {
    HerdConfig c = parse(WORKER
        + "session: { key: \"cookie:sid\", secret: 0123456789abcdef0123, keyTtl: 12h }\n"
        + "proxy: { bodyTimeout: 15s, allowUnderscoresInHeaders: true }\n");
    assertThat(c.proxy().bodyTimeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.proxy().allowUnderscoresInHeaders()).isTrue();
    assertThat(c.proxy().keyTtl()).contains(Duration.ofHours(12));
    assertThat(c.proxy().signer().orElseThrow().keyTtl()).contains(Duration.ofHours(12));
  }

  @Test
  void theDefaultsAreStrict() {
    HerdConfig c = parse(WORKER);
    assertThat(c.proxy().bodyTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.proxy().allowUnderscoresInHeaders()).isFalse();
    assertThat(c.proxy().keyTtl()).isEmpty();
  }

  @Test
  void invalidValuesAreReportedAtTheirYamlKeys() {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> parse(WORKER + "proxy:\n  bodyTimeout: 0s\nsession:\n  keyTtl: 1h\n"));
    assertThat(e).isNotNull();
    assertThat(e.problems()).extracting(ConfigProblem::toString).containsExactly(
        "herd.yaml:4: proxy.bodyTimeout is not positive: PT0S (expected: > 0)",
        "herd.yaml:6: session.keyTtl needs a secret: PT1H (expected: session.secret set)");
  }
}
