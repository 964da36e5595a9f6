package io.herd.server;

import static io.herd.server.HttpClients.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The runnable jar that {@code ./herd} runs, after {@code package}: Netty's native epoll library
 * and merged ServiceLoader files survive shading, and the demo runs from the jar alone with the
 * epoll transport. Runs in failsafe's integration-test phase.
 */
@EnabledIfSystemProperty(named = "herd.packaged", matches = "true",
    disabledReason = "needs target/herd.jar: runs in failsafe's integration-test phase")
class ShadedJarIT {

  private static final Path JAR = Path.of("target", "herd.jar");

  @Test
  void nativeEpollAndMergedServicesAreInTheJar() throws IOException {
    assertThat(JAR).exists();
    try (JarFile jar = new JarFile(JAR.toFile())) {
      assertThat(jar.getEntry("META-INF/native/libnetty_transport_native_epoll_x86_64.so"))
          .as("netty native epoll").isNotNull();
      ZipEntry factories = jar.getEntry("META-INF/services/com.fasterxml.jackson.core.JsonFactory");
      String merged = new String(jar.getInputStream(factories).readAllBytes(),
          StandardCharsets.UTF_8);
      assertThat(merged).as("jackson-core's and jackson-dataformat-yaml's entries, merged")
          .contains("com.fasterxml.jackson.core.JsonFactory",
              "com.fasterxml.jackson.dataformat.yaml.YAMLFactory");
      assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class"))
          .isEqualTo(HerdMain.class.getName());
      assertThat(jar.getEntry("io/herd/server/demo/demo.yaml")).isNotNull();
    }
  }

  @Test
  void demoRunsFromTheJarOnNativeEpoll() throws Exception {
    try (HerdProcess herd = HerdProcess.startJar(JAR, "serve",
        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")) {
      String base = herd.awaitServing(Duration.ofSeconds(60));
      herd.awaitLine("gateway listening on .*\\(epoll,", Duration.ofSeconds(30));

      String body = get(base + "/counter", "X-Session-ID", "alice").body();
      assertThat(body).contains("\"counter\":1");
      // The demo worker runs from the jar, or (when leased UIDs cannot read the jar, as in a
      // checkout under a mode-700 directory) from the copy of its classes in /run/herd.
      assertThat(herd.descendants()).anySatisfy(p -> assertThat(
          p.info().arguments().map(List::of).orElse(List.of()))
          .contains("io.herd.server.demo.DemoWorker")
          .anySatisfy(arg -> assertThat(arg).satisfiesAnyOf(
              jar -> assertThat(jar).endsWith("herd.jar"),
              copy -> assertThat(copy).startsWith("/run/herd/demo-"))));

      assertThat(herd.terminate(Duration.ofSeconds(20))).as(herd.transcript()).isZero();
      assertThat(herd.survivors()).isEmpty();
    }
  }

  @Test
  void launcherRunsTheFreshJarAndPassesTheExitCodeThrough() throws Exception {
    Path launcher = Path.of("..", "herd").toAbsolutePath().normalize();
    assertThat(Files.isExecutable(launcher)).isTrue();
    // The jar was just packaged; mark it newer than any source (other modules may have been
    // edited meanwhile in a shared checkout) so the launcher execs it instead of rebuilding.
    Files.setLastModifiedTime(JAR, java.nio.file.attribute.FileTime.from(
        java.time.Instant.now()));
    try (HerdProcess version = HerdProcess.launch(List.of(launcher.toString(), "--version"),
        java.util.Map.of())) {
      assertThat(version.awaitExit(Duration.ofSeconds(30))).as(version.transcript()).isZero();
      assertThat(version.stdout()).anyMatch(l -> l.startsWith("herd "));
      assertThat(version.stderr()).noneMatch(l -> l.contains("building"));
    }
    try (HerdProcess bad = HerdProcess.launch(List.of(launcher.toString(), "validate"),
        java.util.Map.of())) {
      assertThat(bad.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
    }
  }
}
