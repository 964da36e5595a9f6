package io.herd.server.metrics;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.HerdProcess;
import io.herd.server.TestConfigs;
import io.herd.server.cli.VersionProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrapes {@code /metrics} of a real {@code herd serve} after some traffic and checks the names
 * and units operators build dashboards on: the process and JVM families in base units, the build
 * info, and latency histograms with exactly {@link LatencyBuckets#BOUNDS} buckets per series (plus
 * {@code +Inf}), not a percentile histogram's seventy-odd. Also {@code GET /version}.
 */
class MetricsExpositionTest {

  private static final Duration START = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? .+");

  @TempDir
  Path dir;

  @Test
  void familiesUnitsBucketsAndVersion() throws Exception {
    Path config = TestConfigs.write(dir, "header:X-Session-ID", "");
    try (HerdProcess herd = HerdProcess.start(Map.of(), "serve", "--config", config.toString())) {
      String base = herd.awaitServing(START);
      String admin = herd.adminUri(START);
      for (int i = 0; i < 3; i++) {
        assertThat(get(base + "/pid", "X-Session-ID", "alice").statusCode()).isEqualTo(200);
      }
      assertThat(get(base + "/pid").statusCode()).as("no key: the gateway's own 400").isEqualTo(400);

      String text = get(admin + "/metrics").body();
      Set<String> families = new LinkedHashSet<>();
      Map<String, Integer> buckets = new HashMap<>();
      for (String line : text.split("\n")) {
        Matcher m = SAMPLE.matcher(line);
        if (line.startsWith("#") || !m.matches()) {
          continue;
        }
        families.add(m.group(1));
        if (m.group(1).endsWith("_bucket")) {
          String labels = m.group(3).replaceAll(",?le=\"[^\"]*\"", "");
          buckets.merge(m.group(1) + "{" + labels + "}", 1, Integer::sum);
        }
      }
      assertThat(families).contains(
          "process_cpu_seconds_total", "process_uptime_seconds", "process_start_time_seconds",
          "process_open_fds", "process_max_fds", "jvm_memory_used_bytes", "jvm_memory_max_bytes",
          "jvm_gc_memory_allocated_bytes_total", "jvm_gc_live_data_size_bytes",
          "jvm_threads_live_threads", "jvm_classes_loaded_classes", "herd_build_info",
          "herd_gateway_requests_seconds_bucket", "herd_pool_acquire_seconds_bucket",
          "herd_worker_spawn_seconds_bucket", "herd_gateway_fd_refusals_total");
      assertThat(families).as("no millisecond or nanosecond units")
          .noneMatch(f -> f.contains("_milliseconds") || f.contains("_nanoseconds")
              || f.contains("_ns_") || f.startsWith("process_files_"));
      assertThat(buckets).isNotEmpty();
      for (String h : List.of("herd_gateway_requests_seconds_bucket",
          "herd_pool_acquire_seconds_bucket", "herd_worker_spawn_seconds_bucket")) {
        assertThat(buckets.keySet()).as(h).anyMatch(k -> k.startsWith(h + "{"));
      }
      buckets.forEach((series, count) -> assertThat(count).as(series)
          .isEqualTo(LatencyBuckets.BOUNDS.length + 1));
      assertThat(text).contains("le=\"0.001\"", "le=\"30.0\"", "le=\"+Inf\"");

      JsonNode version = JSON.readTree(get(admin + "/version").body());
      assertThat(version.path("version").asText()).isEqualTo(VersionProvider.version())
          .isNotEqualTo("unknown");
      assertThat(version.path("commit").asText()).isNotBlank();
      assertThat(version.path("java").asText()).isEqualTo(System.getProperty("java.version"));
      assertThat(text).containsPattern("herd_build_info\\{[^}]*commit=\""
          + Pattern.quote(version.path("commit").asText()) + "\"[^}]*version=\""
          + Pattern.quote(version.path("version").asText()) + "\"[^}]*} 1");
      herd.terminate(START);
    }
  }
}
