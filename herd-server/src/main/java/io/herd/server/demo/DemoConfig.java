package io.herd.server.demo;

import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The configuration {@code herd serve} runs without {@code --config}: {@code demo.yaml}, shipped
 * in the jar and loaded like any file, whose worker is {@link DemoWorker} started from this very
 * jar with this very JVM ({@code ${HERD_DEMO_JAVA}}, {@code ${HERD_DEMO_CLASSPATH}}). So the demo
 * needs nothing but a JDK, and doubles as a config example. Stateless.
 */
public final class DemoConfig {

  /** The name the demo config has in messages and logs. */
  public static final String SOURCE = "built-in demo (demo.yaml)";

  private DemoConfig() {}

  /** The demo's YAML, as shipped. */
  public static String yaml() {
    try (InputStream in = DemoConfig.class.getResourceAsStream("demo.yaml")) {
      if (in == null) {
        throw new IllegalStateException("demo.yaml is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Loads the demo with {@code overrides} (e.g. other ports). */
  public static HerdConfig load(HerdConfigLoader.Overrides overrides) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("HERD_DEMO_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
    env.put("HERD_DEMO_CLASSPATH", classPath());
    return new HerdConfigLoader(env).parse(SOURCE, yaml(), Path.of("").toAbsolutePath(),
        overrides);
  }

  /** Where the herd classes are: the herd jar, or a classes directory in a build. */
  static String classPath() {
    try {
      return Path.of(DemoWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the herd classes", e);
    }
  }
}
