package io.herd.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What this {@code herd} is: its version and git commit, written into the jar at build time, and
 * the Java runtime it runs on. {@code herd --version}, the admin API's {@code GET /version} and
 * the {@code herd_build_info} metric all say the same. Immutable.
 *
 * @param version the project version, e.g. {@code 0.1.0-SNAPSHOT}; {@code unknown} outside a
 *     Maven build
 * @param commit the abbreviated git commit, {@code -dirty} when built with uncommitted changes;
 *     {@code unknown} when built without {@code .git} (a source tarball) or without git
 * @param java the Java runtime's version, e.g. {@code 17.0.12}
 */
public record BuildInfo(String version, String commit, String java) {

  private static final BuildInfo CURRENT = new BuildInfo(
      read("version.properties", "version"), read("commit.properties", "commit"),
      System.getProperty("java.version", "unknown"));

  /** This process's build. */
  public static BuildInfo current() {
    return CURRENT;
  }

  private static String read(String resource, String key) {
    try (InputStream in = BuildInfo.class.getResourceAsStream(resource)) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String value = p.getProperty(key, "").trim();
      return value.isEmpty() || value.startsWith("${") ? "unknown" : value;
    } catch (IOException e) {
      return "unknown";
    }
  }
}
