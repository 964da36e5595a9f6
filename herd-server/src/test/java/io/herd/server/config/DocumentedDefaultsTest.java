package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The defaults that docs/config.md and the README's table state for the worker and pool keys are
 * the ones a file that sets none of them gets (the README once said one thing and the code did
 * another). A key documented in neither table, or with another default, fails here.
 */
class DocumentedDefaultsTest {

  private static final Pattern ROW = Pattern.compile("^\\| `([a-zA-Z.]+)` \\| `([^`]+)`",
      Pattern.MULTILINE);

  @Test
  void workerAndPoolDefaultsMatchTheDocs(@TempDir Path dir) throws Exception {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path file = Files.writeString(dir.resolve("herd.yaml"),
        "worker: { command: [/bin/true] }\n", StandardCharsets.UTF_8);
    HerdConfig config = new HerdConfigLoader(Map.of()).load(file,
        HerdConfigLoader.Overrides.NONE);
    PoolConfig pool = config.pool();

    Map<String, Function<HerdConfig, Object>> actual = new LinkedHashMap<>();
    actual.put("worker.health.path", c -> c.worker().healthPath());
    actual.put("worker.health.interval", c -> pool.healthInterval());
    actual.put("worker.health.timeout", c -> pool.healthTimeout());
    actual.put("worker.health.failures", c -> pool.healthFailures());
    actual.put("worker.startTimeout", c -> c.worker().startTimeout());
    actual.put("worker.stopTimeout", c -> c.worker().stopTimeout());
    actual.put("pool.name", c -> pool.name());
    actual.put("pool.min", c -> pool.min());
    actual.put("pool.max", c -> pool.max());
    actual.put("pool.warm", c -> pool.warm());
    actual.put("pool.ttl", c -> pool.ttl());
    actual.put("pool.reuse", c -> pool.reuse());
    actual.put("pool.maxQueue", c -> pool.maxQueue());
    actual.put("pool.acquireTimeout", c -> pool.acquireTimeout());
    actual.put("pool.evictIdleOnPressure", c -> pool.evictIdleOnPressure());
    actual.put("pool.spawnBackoffInitial", c -> pool.spawnBackoffInitial());
    actual.put("pool.spawnBackoffMax", c -> pool.spawnBackoffMax());

    Map<String, String> documented = documented(Path.of("..", "docs", "config.md"));
    for (Map.Entry<String, Function<HerdConfig, Object>> key : actual.entrySet()) {
      assertThat(documented).as("docs/config.md documents %s", key.getKey())
          .containsKey(key.getKey());
      Object value = key.getValue().apply(config);
      String doc = documented.get(key.getKey());
      Object expected = value instanceof java.time.Duration ? DurationFormat.parse(doc)
          : value instanceof Integer ? Integer.valueOf(doc)
          : value instanceof Boolean ? Boolean.valueOf(doc) : doc;
      assertThat(value).as("default of %s (docs/config.md says %s)", key.getKey(), doc)
          .isEqualTo(expected);
    }

    // The README's short table: "| `worker.startTimeout` / `worker.stopTimeout` | `30s` / `10s`".
    String readme = Files.readString(Path.of("..", "README.md"));
    Matcher timeouts = Pattern.compile(
        "\\| `worker.startTimeout` / `worker.stopTimeout` \\| `([^`]+)` / `([^`]+)`")
        .matcher(readme);
    assertThat(timeouts.find()).as("the README's worker timeouts row").isTrue();
    assertThat(DurationFormat.parse(timeouts.group(1))).isEqualTo(config.worker().startTimeout());
    assertThat(DurationFormat.parse(timeouts.group(2))).isEqualTo(config.worker().stopTimeout());
  }

  private static Map<String, String> documented(Path doc) throws Exception {
    Map<String, String> rows = new LinkedHashMap<>();
    Matcher m = ROW.matcher(Files.readString(doc));
    while (m.find()) {
      rows.put(m.group(1), m.group(2));
    }
    return rows;
  }
}
