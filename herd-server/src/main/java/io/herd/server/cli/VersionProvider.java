package io.herd.server.cli;

import io.herd.server.BuildInfo;
import picocli.CommandLine;

/** {@code herd --version}: the version and commit of {@link BuildInfo}, and the Java runtime. */
public final class VersionProvider implements CommandLine.IVersionProvider {

  /** The version, e.g. {@code 0.1.0-SNAPSHOT}, or {@code unknown} outside a build. */
  public static String version() {
    return BuildInfo.current().version();
  }

  @Override
  public String[] getVersion() {
    return new String[] {
      "herd " + version() + " (commit " + BuildInfo.current().commit() + ")",
      "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
          + ")"
    };
  }
}
