package io.herd.server.demo;

import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.HashMap;
import java.util.Map;

/**
 * The configuration {@code herd serve} runs without {@code --config}: {@code demo.yaml}, shipped
 * in the jar and loaded like any file, whose worker is {@link DemoWorker} started from this very
 * jar with this very JVM ({@code ${HERD_DEMO_JAVA}}, {@code ${HERD_DEMO_CLASSPATH}}). So the demo
 * needs nothing but a JDK, and doubles as a config example.
 *
 * <p>Under root the demo's workers run under leased UIDs (the default {@code sandbox.uid: auto}),
 * which cannot read a jar inside a checkout in a mode-700 directory ({@code mktemp -d}). Then the
 * class path is a copy of {@link DemoWorker}'s class files (it needs nothing else) in {@code
 * /run/herd/demo-<hash>}, readable by every UID. The worker stays a process per session rather
 * than running in the gateway's JVM: showing that is the demo's point. Stateless.
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

  /** The variable naming the JVM that runs herd, for the demo worker's command. */
  public static final String JAVA_VARIABLE = "HERD_DEMO_JAVA";

  /** The variable naming a class path with the demo worker that every worker UID can read. */
  public static final String CLASSPATH_VARIABLE = "HERD_DEMO_CLASSPATH";

  /**
   * {@value #JAVA_VARIABLE} and {@value #CLASSPATH_VARIABLE}, which demo.yaml uses and any config
   * file may use to run the demo worker (as examples/cluster does).
   */
  public static Map<String, String> workerVariables() {
    return Map.of(
        JAVA_VARIABLE, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        CLASSPATH_VARIABLE, classPath());
  }

  /** Loads the demo with {@code overrides} (e.g. other ports). */
  public static HerdConfig load(HerdConfigLoader.Overrides overrides) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.putAll(workerVariables());
    // "/" as the base directory, hence the workers' working directory: the demo has no relative
    // paths, and a worker under a leased UID may not enter the directory herd was started in.
    return new HerdConfigLoader(env).parse(SOURCE, yaml(), Path.of("/"), overrides);
  }

  /** Where the demo worker's classes are, for a worker of any UID to read; see above. */
  static String classPath() {
    Path source;
    try {
      source = Path.of(DemoWorker.class.getProtectionDomain().getCodeSource().getLocation()
          .toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the herd classes", e);
    }
    if (!isRoot() || readableByOthers(source)) {
      return source.toString();
    }
    try {
      return readableCopy(Path.of("/run/herd")).toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy the demo worker where its UID can read it", e);
    }
  }

  /** Copies the demo worker's class files to {@code dir/demo-<hash>}, once per content. */
  static Path readableCopy(Path dir) throws IOException {
    Map<String, byte[]> classes = new java.util.TreeMap<>();
    List<Class<?>> members = new java.util.ArrayList<>(List.of(DemoWorker.class.getNestMembers()));
    for (Class<?> c : members) {
      String resource = c.getName().replace('.', '/') + ".class";
      try (InputStream in = DemoWorker.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException("class file " + resource + " not found");
        }
        classes.put(resource, in.readAllBytes());
      }
    }
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    classes.forEach((name, bytes) -> {
      sha.update(name.getBytes(StandardCharsets.UTF_8));
      sha.update(bytes);
    });
    String hash = java.util.HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    Path target = dir.resolve("demo-" + hash);
    if (Files.isDirectory(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return target;
    }
    Files.createDirectories(dir);
    Path temp = Files.createTempDirectory(dir, ".demo-");
    try {
      for (Map.Entry<String, byte[]> c : classes.entrySet()) {
        Path file = temp.resolve(c.getKey());
        Files.createDirectories(file.getParent());
        Files.write(file, c.getValue());
      }
      try (java.util.stream.Stream<Path> paths = Files.walk(temp)) {
        for (Path p : paths.toList()) {
          Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
              Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
        }
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (java.nio.file.FileAlreadyExistsException
        | java.nio.file.DirectoryNotEmptyException e) {
      // another gateway made the same copy meanwhile
    } finally {
      if (Files.exists(temp)) {
        try (java.util.stream.Stream<Path> paths = Files.walk(temp)) {
          for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
    return target;
  }

  /** Whether a UID that is neither owner nor group member can read {@code path}. */
  private static boolean readableByOthers(Path path) {
    try {
      for (Path dir = path.getParent(); dir != null; dir = dir.getParent()) {
        if (!Files.getPosixFilePermissions(dir).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          return false;
        }
      }
      return Files.getPosixFilePermissions(path).contains(PosixFilePermission.OTHERS_READ);
    } catch (IOException | UnsupportedOperationException e) {
      return true; // cannot tell; the worker's start will say so if not
    }
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
