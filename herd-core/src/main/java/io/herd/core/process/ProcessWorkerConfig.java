package io.herd.core.process;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import io.herd.core.sandbox.SandboxConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How {@link ProcessWorkerFactory} starts, checks and stops worker processes. Immutable and
 * thread-safe; {@link Builder#build()} validates every field and reports all problems at once.
 *
 * <p>The command and the environment values may contain the placeholder {@value #PORT_PLACEHOLDER}
 * (or Go Herd's {@value #GO_PORT_PLACEHOLDER}), replaced by the port picked for each worker, and
 * {@value #WORKDIR_PLACEHOLDER}, replaced by the worker's private scratch directory. The worker's
 * environment starts empty: see {@link WorkerEnvironment} for what it gets ({@code PATH}, {@code
 * HOME}, {@code PORT}, {@code HERD_*}, {@link #env()}, then {@link #inheritEnv()}); nothing else
 * of the JVM's environment reaches it. Error messages use the YAML keys of the standalone
 * gateway ({@code worker.command}, ...).
 */
public final class ProcessWorkerConfig {

  /** Replaced by the worker's port in the command and in environment values. */
  public static final String PORT_PLACEHOLDER = "{{port}}";

  /** Go Herd's spelling of {@link #PORT_PLACEHOLDER}, accepted so configs carry over. */
  public static final String GO_PORT_PLACEHOLDER = "{{.Port}}";

  /** Replaced by the worker's scratch directory in the command and in environment values. */
  public static final String WORKDIR_PLACEHOLDER = "{{workdir}}";

  /**
   * Replaced by the address the worker must listen on in the command and in environment values:
   * 127.0.0.1, or its own network namespace's address under network isolation (what {@code $HOST}
   * holds then). For programs that bind on the worker's behalf, such as a VM monitor's port
   * forward.
   */
  public static final String HOST_PLACEHOLDER = "{{host}}";

  /** Environment variable that always carries the worker's port. */
  public static final String PORT_ENV = "PORT";

  /** Portable environment variable names: what {@code worker.inheritEnv} accepts. */
  private static final java.util.regex.Pattern ENV_NAME =
      java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private final List<String> command;
  private final Map<String, String> env;
  private final List<String> inheritEnv;
  private final Path workdir;
  private final String healthPath;
  private final Duration startTimeout;
  private final Duration stopTimeout;
  private final SandboxConfig sandbox;

  private ProcessWorkerConfig(Builder b) {
    this.command = List.copyOf(b.command);
    this.env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.inheritEnv = List.copyOf(b.inheritEnv);
    this.workdir = b.workdir;
    this.healthPath = b.healthPath;
    this.startTimeout = b.startTimeout;
    this.stopTimeout = b.stopTimeout;
    this.sandbox = b.sandbox;
  }

  /**
   * A builder with the defaults: health path {@code /health}, 30 s to start, 10 s to stop, the
   * default sandbox ({@link SandboxConfig#defaults()}: secure where the host allows, soft-failing
   * where it does not; {@code .sandbox(SandboxConfig.none())} for plain child processes).
   */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values, to derive a changed copy. */
  public Builder toBuilder() {
    return new Builder()
        .command(command)
        .env(env)
        .inheritEnv(inheritEnv)
        .workdir(workdir)
        .healthPath(healthPath)
        .startTimeout(startTimeout)
        .stopTimeout(stopTimeout)
        .sandbox(sandbox);
  }

  /** The program and its arguments, with placeholders unreplaced ({@code worker.command}). */
  public List<String> command() {
    return command;
  }

  /**
   * Variables set for every worker on top of the minimal environment, values unreplaced ({@code
   * worker.env}).
   */
  public Map<String, String> env() {
    return env;
  }

  /**
   * Names of the JVM's environment variables copied to every worker when set ({@code
   * worker.inheritEnv}); no other variable of the JVM's environment reaches a worker.
   */
  public List<String> inheritEnv() {
    return inheritEnv;
  }

  /**
   * Working directory of the workers ({@code worker.workdir}); empty means the JVM's, or the
   * worker's scratch directory when it runs under a UID of its own.
   */
  public Optional<Path> workdir() {
    return Optional.ofNullable(workdir);
  }

  /** Path probed with {@code GET} for readiness and liveness ({@code worker.health.path}). */
  public String healthPath() {
    return healthPath;
  }

  /** How long a worker may take to answer its first healthy probe ({@code worker.startTimeout}). */
  public Duration startTimeout() {
    return startTimeout;
  }

  /** Grace period between SIGTERM and SIGKILL when stopping ({@code worker.stopTimeout}). */
  public Duration stopTimeout() {
    return stopTimeout;
  }

  /**
   * How workers are confined ({@code sandbox.*}); {@link SandboxConfig#defaults()} unless set.
   */
  public SandboxConfig sandbox() {
    return sandbox;
  }

  /**
   * The command for a worker on {@code port} with scratch directory {@code workdir}: placeholders
   * replaced in every argument. Mutable copy.
   */
  public List<String> commandFor(int port, Path workdir) {
    return commandFor(port, null, workdir);
  }

  /**
   * The command for a worker on {@code host:port} with scratch directory {@code workdir}:
   * placeholders replaced in every argument, {@value #HOST_PLACEHOLDER} too unless {@code host}
   * is null. Mutable copy.
   */
  public List<String> commandFor(int port, java.net.InetAddress host, Path workdir) {
    List<String> argv = new ArrayList<>(command.size());
    for (String arg : command) {
      String replaced = substitute(arg, port, workdir);
      argv.add(host == null ? replaced : replaced.replace(HOST_PLACEHOLDER, host.getHostAddress()));
    }
    return argv;
  }

  /** {@link #env()} for a worker on {@code port} with {@code workdir}: placeholders replaced. */
  public Map<String, String> envFor(int port, Path workdir) {
    Map<String, String> rendered = new LinkedHashMap<>();
    env.forEach((name, value) -> rendered.put(name, substitute(value, port, workdir)));
    return rendered;
  }

  private static String substitute(String text, int port, Path workdir) {
    String value = Integer.toString(port);
    String replaced = text.replace(PORT_PLACEHOLDER, value).replace(GO_PORT_PLACEHOLDER, value);
    return workdir == null ? replaced : replaced.replace(WORKDIR_PLACEHOLDER, workdir.toString());
  }

  /** Environment values are masked: they often hold credentials. */
  @Override
  public String toString() {
    return "ProcessWorkerConfig{command=" + command + ", env=" + env.keySet() + " (values masked)"
        + ", inheritEnv=" + inheritEnv + ", workdir=" + workdir + ", healthPath=" + healthPath + ", startTimeout=" + startTimeout
        + ", stopTimeout=" + stopTimeout + ", sandbox=" + sandbox + "}";
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private List<String> command = List.of();
    private Map<String, String> env = new LinkedHashMap<>();
    private List<String> inheritEnv = new ArrayList<>();
    private Path workdir;
    private String healthPath = "/health";
    private Duration startTimeout = Duration.ofSeconds(30);
    private Duration stopTimeout = Duration.ofSeconds(10);
    private SandboxConfig sandbox = SandboxConfig.defaults();

    private Builder() {}

    /** The program (a name looked up on the JVM's PATH, or a path) and its arguments. */
    public Builder command(List<String> command) {
      this.command = command == null ? null : new ArrayList<>(command);
      return this;
    }

    /** Same as {@link #command(List)}. */
    public Builder command(String... command) {
      return command(command == null ? null : Arrays.asList(command));
    }

    /** Replaces the extra environment. */
    public Builder env(Map<String, String> env) {
      this.env = env == null ? null : new LinkedHashMap<>(env);
      return this;
    }

    /** Adds one extra environment variable. */
    public Builder env(String name, String value) {
      if (env == null) {
        env = new LinkedHashMap<>();
      }
      env.put(name, value);
      return this;
    }

    /**
     * Names of JVM environment variables to pass on to workers ({@code worker.inheritEnv}), e.g.
     * {@code HTTPS_PROXY}; empty by default.
     */
    public Builder inheritEnv(List<String> names) {
      this.inheritEnv = names == null ? null : new ArrayList<>(names);
      return this;
    }

    /**
     * {@code null} (the default) runs workers in the JVM's working directory, or in their scratch
     * directory when they run under a UID of their own.
     */
    public Builder workdir(Path workdir) {
      this.workdir = workdir;
      return this;
    }

    public Builder healthPath(String healthPath) {
      this.healthPath = healthPath;
      return this;
    }

    public Builder startTimeout(Duration startTimeout) {
      this.startTimeout = startTimeout;
      return this;
    }

    public Builder stopTimeout(Duration stopTimeout) {
      this.stopTimeout = stopTimeout;
      return this;
    }

    /**
     * The sandbox; {@link SandboxConfig#defaults()} by default, {@link SandboxConfig#none()} for
     * plain child processes.
     */
    public Builder sandbox(SandboxConfig sandbox) {
      this.sandbox = sandbox;
      return this;
    }

    /**
     * Validates and builds. The working directory is checked to exist now, so that a typo fails
     * at start-up rather than at the first spawn; the program is looked up at each spawn, since
     * it may be installed later.
     *
     * @throws InvalidConfigException listing every invalid field
     */
    public ProcessWorkerConfig build() {
      List<FieldProblem> problems = new ArrayList<>();
      checkCommand(problems);
      checkEnv(problems);
      checkInheritEnv(problems);
      if (workdir != null && !Files.exists(workdir)) {
        problems.add(FieldProblem.of("worker.workdir", workdir, "does not exist",
            "an existing directory"));
      } else if (workdir != null && !Files.isDirectory(workdir)) {
        problems.add(FieldProblem.of("worker.workdir", workdir, "is not a directory",
            "an existing directory"));
      }
      if (healthPath == null || !healthPath.startsWith("/") || !isPrintableAscii(healthPath)) {
        problems.add(FieldProblem.of("worker.health.path", healthPath, "is invalid",
            "a path starting with '/', printable ASCII without spaces"));
      }
      requirePositive(problems, "worker.startTimeout", startTimeout);
      requirePositive(problems, "worker.stopTimeout", stopTimeout);
      if (sandbox == null) {
        problems.add(FieldProblem.of("sandbox", null, "is missing",
            "a SandboxConfig, SandboxConfig.none() for none"));
      }
      if (!problems.isEmpty()) {
        throw new InvalidConfigException(problems);
      }
      return new ProcessWorkerConfig(this);
    }

    private void checkCommand(List<FieldProblem> problems) {
      if (command == null || command.isEmpty()) {
        problems.add(FieldProblem.of("worker.command", command, "is empty",
            "a program and its arguments"));
        return;
      }
      for (int i = 0; i < command.size(); i++) {
        String arg = command.get(i);
        if (arg == null) {
          problems.add(FieldProblem.of("worker.command[" + i + "]", command, "is null",
              "a string"));
        } else if (arg.indexOf('\0') >= 0) {
          problems.add(FieldProblem.of("worker.command[" + i + "]", arg.replace('\0', '?'),
              "contains NUL", "no NUL characters"));
        }
      }
      String program = command.get(0);
      if (program != null && program.isBlank()) {
        problems.add(FieldProblem.of("worker.command[0]", "'" + program + "'", "is blank",
            "a program name or path"));
      }
    }

    private void checkEnv(List<FieldProblem> problems) {
      if (env == null) {
        problems.add(FieldProblem.of("worker.env", null, "is missing", "a map, possibly empty"));
        return;
      }
      env.forEach((name, value) -> {
        if (name == null || name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
          problems.add(FieldProblem.of("worker.env", "'" + name + "'", "has an invalid name",
              "a non-empty name without '=' or NUL"));
        } else if (value == null) {
          problems.add(FieldProblem.of("worker.env." + name, null, "is null",
              "a string, \"\" if empty"));
        } else if (value.indexOf('\0') >= 0) {
          problems.add(FieldProblem.of("worker.env." + name, value.replace('\0', '?'),
              "contains NUL", "no NUL characters"));
        } else if (name.equals(PORT_ENV) && !isPortPlaceholder(value)) {
          problems.add(FieldProblem.of("worker.env.PORT", value,
              "conflicts with the worker's port", "unset or " + PORT_PLACEHOLDER
                  + "; Herd sets PORT to the port it picks"));
        }
      });
    }

    private void checkInheritEnv(List<FieldProblem> problems) {
      if (inheritEnv == null) {
        problems.add(FieldProblem.of("worker.inheritEnv", null, "is missing",
            "a list of variable names, possibly empty"));
        return;
      }
      for (int i = 0; i < inheritEnv.size(); i++) {
        String name = inheritEnv.get(i);
        if (name == null || !ENV_NAME.matcher(name).matches()) {
          problems.add(FieldProblem.of("worker.inheritEnv[" + i + "]",
              name == null ? null : "'" + name.replace('\0', '?') + "'", "is not a variable name",
              "letters, digits and '_', not starting with a digit, e.g. HTTPS_PROXY"));
        } else if (name.equals(PORT_ENV)) {
          problems.add(FieldProblem.of("worker.inheritEnv[" + i + "]", name,
              "conflicts with the worker's port", "a name other than PORT; Herd sets PORT"));
        }
      }
    }

    private static boolean isPortPlaceholder(String value) {
      return value.equals(PORT_PLACEHOLDER) || value.equals(GO_PORT_PLACEHOLDER);
    }

    private static boolean isPrintableAscii(String text) {
      return text.chars().allMatch(c -> c > ' ' && c < 127);
    }

    private static void requirePositive(List<FieldProblem> problems, String key, Duration value) {
      if (value == null) {
        problems.add(FieldProblem.of(key, null, "is missing", "a positive duration"));
      } else if (value.isNegative() || value.isZero()) {
        problems.add(FieldProblem.of(key, value, "is not positive", "> 0"));
      }
    }
  }
}
