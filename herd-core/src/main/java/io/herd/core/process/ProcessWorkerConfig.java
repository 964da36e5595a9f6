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
 * (or Go Herd's {@value #GO_PORT_PLACEHOLDER}), replaced by the port picked for each worker; the
 * worker also always gets that port as environment variable {@code PORT}. Error messages use the
 * YAML keys of the standalone gateway ({@code worker.command}, ...).
 */
public final class ProcessWorkerConfig {

  /** Replaced by the worker's port in the command and in environment values. */
  public static final String PORT_PLACEHOLDER = "{{port}}";

  /** Go Herd's spelling of {@link #PORT_PLACEHOLDER}, accepted so configs carry over. */
  public static final String GO_PORT_PLACEHOLDER = "{{.Port}}";

  /** Environment variable that always carries the worker's port. */
  public static final String PORT_ENV = "PORT";

  private final List<String> command;
  private final Map<String, String> env;
  private final Path workdir;
  private final String healthPath;
  private final Duration startTimeout;
  private final Duration stopTimeout;
  private final SandboxConfig sandbox;

  private ProcessWorkerConfig(Builder b) {
    this.command = List.copyOf(b.command);
    this.env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.workdir = b.workdir;
    this.healthPath = b.healthPath;
    this.startTimeout = b.startTimeout;
    this.stopTimeout = b.stopTimeout;
    this.sandbox = b.sandbox;
  }

  /**
   * A builder with the defaults: health path {@code /health}, 30 s to start, 10 s to stop, no
   * sandbox ({@link SandboxConfig#none()}).
   */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values, to derive a changed copy. */
  public Builder toBuilder() {
    return new Builder()
        .command(command)
        .env(env)
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

  /** Extra environment on top of the JVM's own, values unreplaced ({@code worker.env}). */
  public Map<String, String> env() {
    return env;
  }

  /** Working directory of the workers; empty means the JVM's ({@code worker.workdir}). */
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
   * How workers are confined ({@code sandbox.*}); {@link SandboxConfig#none()} unless set, so
   * that embedding code that never asks for a sandbox runs workers exactly as before.
   */
  public SandboxConfig sandbox() {
    return sandbox;
  }

  /** The command for a worker on {@code port}: placeholders replaced in every argument. */
  public List<String> commandFor(int port) {
    List<String> argv = new ArrayList<>(command.size());
    for (String arg : command) {
      argv.add(substitutePort(arg, port));
    }
    return argv;
  }

  /** The extra environment for a worker on {@code port}: placeholders replaced, plus PORT. */
  public Map<String, String> envFor(int port) {
    Map<String, String> rendered = new LinkedHashMap<>();
    env.forEach((name, value) -> rendered.put(name, substitutePort(value, port)));
    rendered.put(PORT_ENV, Integer.toString(port));
    return rendered;
  }

  private static String substitutePort(String text, int port) {
    String value = Integer.toString(port);
    return text.replace(PORT_PLACEHOLDER, value).replace(GO_PORT_PLACEHOLDER, value);
  }

  /** Environment values are masked: they often hold credentials. */
  @Override
  public String toString() {
    return "ProcessWorkerConfig{command=" + command + ", env=" + env.keySet() + " (values masked)"
        + ", workdir=" + workdir + ", healthPath=" + healthPath + ", startTimeout=" + startTimeout
        + ", stopTimeout=" + stopTimeout + ", sandbox=" + sandbox + "}";
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private List<String> command = List.of();
    private Map<String, String> env = new LinkedHashMap<>();
    private Path workdir;
    private String healthPath = "/health";
    private Duration startTimeout = Duration.ofSeconds(30);
    private Duration stopTimeout = Duration.ofSeconds(10);
    private SandboxConfig sandbox = SandboxConfig.none();

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

    /** {@code null} (the default) runs workers in the JVM's working directory. */
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

    /** The sandbox; {@link SandboxConfig#none()} (the default) for plain child processes. */
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
