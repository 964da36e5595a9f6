package io.herd.server.config;

import io.herd.cluster.ClusterConfig;
import io.herd.core.PoolConfig;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.SessionKeyRule;
import io.herd.proxy.internal.KeyRules;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import io.herd.server.demo.DemoConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Loads {@code herd.yaml}: parses it with line numbers, resolves {@code ${VAR}} references,
 * binds every section and collects <em>all</em> problems (syntax, unknown keys, types, and the
 * libraries' own validation mapped to lines) before failing once.
 *
 * <p>Immutable and thread-safe; each load has its own state.
 */
public final class HerdConfigLoader {

  /**
   * Command-line values that replace the file's ({@code --listen}, {@code --admin-listen}); null
   * keeps the file's. Validated together with the file, so an override cannot bypass a check.
   */
  public record Overrides(HostPort listen, HostPort adminListen) {
    public static final Overrides NONE = new Overrides(null, null);
  }

  private final Map<String, String> environment;
  /** This machine's name, for the default {@code cluster.node}; asked only when it is needed. */
  private final Supplier<String> hostname;

  /** A loader resolving references from {@code environment}. */
  public HerdConfigLoader(Map<String, String> environment) {
    this(environment, () -> localHostName(environment));
  }

  /** A loader resolving references from {@code environment}, on a host named {@code hostname}. */
  HerdConfigLoader(Map<String, String> environment, Supplier<String> hostname) {
    this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
    this.hostname = Objects.requireNonNull(hostname, "hostname");
  }

  /** The local host's name, else {@code $HOSTNAME}, else {@code herd}. */
  private static String localHostName(Map<String, String> environment) {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      String env = environment.get("HOSTNAME");
      return env == null || env.isBlank() ? "herd" : env;
    }
  }

  /** A loader resolving references from this process's environment. */
  public static HerdConfigLoader fromEnvironment() {
    return new HerdConfigLoader(System.getenv());
  }

  /**
   * Loads {@code file}; relative paths in it (workdir, TLS files) resolve against its directory.
   * A secret written literally into a file that its group or others can read is a warning.
   *
   * @throws InvalidConfigFileException listing every problem
   */
  public HerdConfig load(Path file, Overrides overrides) {
    String name = file.toString();
    String text = readText(file);
    Path dir = file.toAbsolutePath().getParent();
    HerdConfigLoader loader = this;
    if (text.contains("${" + DemoConfig.JAVA_VARIABLE)
        || text.contains("${" + DemoConfig.CLASSPATH_VARIABLE)) {
      // A file that runs the demo worker (examples/cluster): the same JVM and readable classes
      // as the built-in demo, resolved only when asked for (the class path may need a copy).
      Map<String, String> env = new HashMap<>(DemoConfig.workerVariables());
      env.putAll(environment);
      loader = new HerdConfigLoader(env, hostname);
    }
    return loader.parse(name, text, dir, overrides, permissions(file));
  }

  /** The file's POSIX permissions; none (no warning) where the file system has none. */
  private static Set<PosixFilePermission> permissions(Path file) {
    try {
      return Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException | IOException e) {
      return Set.of();
    }
  }

  /**
   * Loads YAML {@code text} named {@code name} in messages.
   *
   * @param baseDir what relative paths resolve against
   * @throws InvalidConfigFileException listing every problem
   */
  public HerdConfig parse(String name, String text, Path baseDir, Overrides overrides) {
    return parse(name, text, baseDir, overrides, Set.of());
  }

  /**
   * Loads YAML {@code text} that was read from a file with {@code permissions}, which decide
   * whether literal secrets in it are warned about.
   */
  private HerdConfig parse(String name, String text, Path baseDir, Overrides overrides,
      Set<PosixFilePermission> permissions) {
    EnvReferences.Extracted extracted = EnvReferences.extract(text, environment);
    YamlTreeReader.Result tree = YamlTreeReader.read(name, extracted.text());
    if (!tree.problems().isEmpty()) {
      throw new InvalidConfigFileException(tree.problems()); // binding a broken tree only adds noise
    }
    ConfigProblems problems = new ConfigProblems(name, tree.root());
    ExposedSecrets.check(tree.root(), extracted.references(), problems, name, permissions);
    SectionReader root = new SectionReader("", tree.root(), 1, problems, extracted.references());
    HerdConfig config = bind(name, root, problems, baseDir, overrides, hostname);
    if (problems.hasErrors() || config == null) {
      throw new InvalidConfigFileException(problems.errors());
    }
    return config;
  }

  /** Binds every section; null when any part failed (the problems say why). */
  private static HerdConfig bind(String name, SectionReader root, ConfigProblems problems,
      Path baseDir, Overrides overrides, Supplier<String> hostname) {
    HostPort listen = root.hostPort("listen", HerdConfig.DEFAULT_LISTEN);
    if (overrides.listen() != null) {
      listen = overrides.listen();
    }
    AdminConfig admin = AdminConfig.bind(root.section("admin"), overrides.adminListen());
    boolean multiPool = root.has("pools");
    List<PoolSpec> pools = null;
    SectionReader sessionReader = root.section("session");
    String sessionKey = null;
    WorkerSection worker = null;
    SandboxConfig sandbox = null;
    PoolConfig pool = null;
    if (multiPool) {
      pools = PoolsSection.bind(root, baseDir);
    } else {
      sessionKey = ProxySection.bindKey(sessionReader);
      SectionReader workerReader = root.section("worker");
      worker = WorkerSection.bind(workerReader, baseDir);
      sandbox = SandboxSection.bind(root.section("sandbox"), root.has("sandbox"));
      if (sandbox != null && worker.process() != null && worker.vm() == null) {
        SandboxSection.warnAboutAccess(workerReader, sandbox, worker.process());
      }
      if (sandbox != null && worker.vm() != null) {
        VmSection.warnAboutSandbox(workerReader, sandbox, worker.vm());
      }
      pool = PoolSection.bind(root.section("pool"), worker);
    }
    GatewayOptions proxy = ProxySection.bind(root.section("proxy"), sessionReader);
    sessionReader.finish();
    boolean tlsPresent = root.has("tls");
    Optional<TlsConfig> tls = TlsConfig.bind(root.section("tls"), baseDir, tlsPresent);
    boolean clusterPresent = root.has("cluster");
    int errorsBeforeCluster = problems.errors().size();
    SectionReader clusterReader = root.section("cluster");
    // Not a mapping (reported): its keys' "missing" errors would only add noise.
    boolean clusterMapping = problems.errors().size() == errorsBeforeCluster;
    Optional<ClusterConfig> cluster = ClusterSection.bind(clusterReader,
        clusterPresent && clusterMapping,
        new ClusterSection.Context(listen,
            pool != null ? pool.name() : pools != null && !pools.isEmpty() ? pools.get(0).name()
                : PoolConfig.builder().build().name(), tlsPresent,
            hostname));
    LoggingConfig logging = LoggingConfig.bind(root.section("logging"));
    root.finish();
    if (multiPool && clusterPresent) {
      root.error("cluster", "cluster: works with the single-pool form only (expected: top-level"
          + " worker, session, pool and sandbox instead of pools:, or no cluster:)");
    }

    if (multiPool) {
      if (pools == null || proxy == null || (tlsPresent && tls.isEmpty())) {
        return null;
      }
      checkCombinations(root, listen, admin, null, proxy);
      PoolSpec first = pools.get(0);
      return new HerdConfig(name, listen, admin, first.sessionKey(), first.worker(),
          first.pool(), proxy, tls, cluster, logging, problems.warnings(), pools);
    }
    checkCombinations(root, listen, admin, sessionKey, proxy);
    if (sessionKey == null || worker.process() == null || worker.vmFailed() || sandbox == null
        || pool == null
        || proxy == null || (tlsPresent && tls.isEmpty())
        || (clusterPresent && cluster.isEmpty())) {
      return null;
    }
    ProcessWorkerConfig process = worker.process().toBuilder().sandbox(sandbox).build();
    return new HerdConfig(name, listen, admin, sessionKey, process, pool, proxy, tls, cluster,
        logging, problems.warnings(), List.of(new PoolSpec(pool.name(),
            io.herd.proxy.PoolMatch.ANY, sessionKey, process, pool, proxy,
            Optional.ofNullable(worker.vm()))));
  }

  private static void checkCombinations(SectionReader root, HostPort listen, AdminConfig admin,
      String sessionKey, GatewayOptions proxy) {
    if (listen.port() != 0 && listen.equals(admin.listen())) {
      root.section("admin").error("listen", "admin.listen is the gateway's address: "
          + admin.listen() + " (expected: a different port than listen)");
    }
    if (proxy != null && sessionKey != null && proxy.issueKeys()
        && SessionKeyRule.parse(sessionKey).cookieName().isEmpty()) {
      root.section("session").error("issueKeys", "session.issueKeys needs a cookie key rule: "
          + sessionKey + " (expected: session.key: cookie:NAME)");
    }
    if (proxy != null && sessionKey != null && proxy.devtools()
        && SessionKeyRule.parse(sessionKey) instanceof KeyRules.PathSegment p && !p.strip()) {
      root.section("proxy").error("devtools", "proxy.devtools needs the key's path segment"
          + " stripped, or the browser gets it in every path (/alice/json/version): session.key: "
          + sessionKey + " (expected: session.key: path:" + p.index() + ":strip)");
    }
  }

  /**
   * The text of a config file, or the reason it has none as a {@code file:0} problem: missing,
   * not UTF-8, unreadable. For {@link #load} and for commands that read only a key or two of the
   * file ({@link AdminAddress}).
   */
  static String readText(Path file) {
    String name = file.toString();
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw single(name, "the file does not exist: " + file.toAbsolutePath()
          + " (expected: a YAML file; see docs/config.md)");
    } catch (MalformedInputException e) {
      throw single(name, "the file is not UTF-8: " + file + " (expected: UTF-8 text)");
    } catch (IOException e) {
      throw single(name, "the file cannot be read: " + e + " (expected: a readable file)");
    }
  }

  private static InvalidConfigFileException single(String file, String message) {
    return new InvalidConfigFileException(List.of(new ConfigProblem(file, 0, message)));
  }
}
