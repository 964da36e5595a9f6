package io.herd.testkit;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds the argv that launches {@link TestWorker} as a separate JVM, tuned to start as fast as a
 * JVM can: C1 only, serial GC, small stacks and heap, class-data sharing when available.
 *
 * <p>The port is left as the {@code {{port}}} placeholder that a process worker factory replaces
 * with the port it picked. Stateless and thread-safe.
 */
public final class TestWorkerCommand {

  /** The placeholder that worker factories replace with the worker's port. */
  public static final String PORT_PLACEHOLDER = "{{port}}";

  private TestWorkerCommand() {}

  /**
   * {@code java <fast-start flags> -cp <testkit> io.herd.testkit.TestWorker --port {{port}}}
   * followed by {@code extraArgs} (e.g. {@code --never-healthy}).
   */
  public static List<String> argv(String... extraArgs) {
    List<String> argv = javaArgv();
    argv.add("--port");
    argv.add(PORT_PLACEHOLDER);
    argv.addAll(Arrays.asList(extraArgs));
    return argv;
  }

  /**
   * The java command and main class only, without {@code --port}: the caller appends its own
   * arguments, or lets the worker read the {@code PORT} environment variable. Mutable copy.
   */
  public static List<String> javaArgv() {
    List<String> argv = new ArrayList<>();
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.add("-cp");
    argv.add(classPath());
    argv.add("-XX:TieredStopAtLevel=1");
    argv.add("-XX:+UseSerialGC");
    argv.add("-Xss256k");
    argv.add("-Xmx32m");
    argv.add("-Xshare:auto");
    argv.add(TestWorker.class.getName());
    return argv;
  }

  /**
   * Where the testkit classes are for a worker to run them: under a root JVM a copy that any UID
   * can read ({@link ReadableCopy}), since a worker under a leased UID cannot read a checkout
   * inside a mode-700 directory; otherwise where they are built (a jar in a reactor build, a
   * classes directory in an IDE).
   */
  public static String classPath() {
    return ReadableCopy.of(builtClassPath()).toString();
  }

  /** Where the testkit classes were built or installed. */
  public static Path builtClassPath() {
    try {
      return Path.of(TestWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the testkit classes", e);
    }
  }
}
