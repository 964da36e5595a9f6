package io.herd.vm.image;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * What an image says to run: the {@code config} object of an OCI image configuration (docker's
 * {@code Entrypoint}, {@code Cmd}, {@code Env}, {@code WorkingDir}, {@code User}, {@code
 * ExposedPorts}). Immutable and thread-safe; built by {@link OciImage} from the image, or by
 * {@link #builder()} in tests.
 */
public final class ImageConfig {

  private final List<String> entrypoint;
  private final List<String> cmd;
  private final List<String> env;
  private final String workingDir;
  private final String user;
  private final Set<Integer> exposedTcpPorts;

  private ImageConfig(Builder b) {
    this.entrypoint = List.copyOf(b.entrypoint);
    this.cmd = List.copyOf(b.cmd);
    this.env = List.copyOf(b.env);
    this.workingDir = b.workingDir;
    this.user = b.user;
    this.exposedTcpPorts = Collections.unmodifiableSet(new TreeSet<>(b.exposedTcpPorts));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code Entrypoint}: the executable and its fixed arguments; empty when the image has none. */
  public List<String> entrypoint() {
    return entrypoint;
  }

  /** {@code Cmd}: the default arguments (or, without an entrypoint, the command); may be empty. */
  public List<String> cmd() {
    return cmd;
  }

  /** {@code Env}: {@code KEY=VALUE} strings in the image's order. */
  public List<String> env() {
    return env;
  }

  /** {@code WorkingDir}: the directory the command starts in; {@code /} when the image sets none. */
  public String workingDir() {
    return workingDir;
  }

  /**
   * {@code User}: {@code user}, {@code uid}, {@code user:group} or {@code uid:gid}; empty means
   * root.
   */
  public String user() {
    return user;
  }

  /** {@code ExposedPorts} with protocol TCP ({@code "8080/tcp"} or {@code "8080"}), ascending. */
  public Set<Integer> exposedTcpPorts() {
    return exposedTcpPorts;
  }

  /**
   * The port the app listens on when the image says so unambiguously: its only exposed TCP port;
   * empty when it exposes none or several (then {@code worker.vm.port} must say which).
   */
  public OptionalInt onlyExposedPort() {
    return exposedTcpPorts.size() == 1
        ? OptionalInt.of(exposedTcpPorts.iterator().next())
        : OptionalInt.empty();
  }

  /**
   * The command line to run, by docker's rules (which the OCI image spec adopts): {@code
   * Entrypoint} followed by {@code Cmd} as its arguments when there is an entrypoint, else {@code
   * Cmd} alone. Shell-form commands are already stored as {@code ["/bin/sh", "-c", "…"]} by the
   * builders that write images. Empty when the image has neither: such an image cannot run as a
   * worker, and the caller says so.
   */
  public List<String> argv() {
    if (entrypoint.isEmpty()) {
      return cmd;
    }
    List<String> argv = new ArrayList<>(entrypoint.size() + cmd.size());
    argv.addAll(entrypoint);
    argv.addAll(cmd);
    return List.copyOf(argv);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImageConfig c
        && entrypoint.equals(c.entrypoint)
        && cmd.equals(c.cmd)
        && env.equals(c.env)
        && workingDir.equals(c.workingDir)
        && user.equals(c.user)
        && exposedTcpPorts.equals(c.exposedTcpPorts);
  }

  @Override
  public int hashCode() {
    return Objects.hash(entrypoint, cmd, env, workingDir, user, exposedTcpPorts);
  }

  @Override
  public String toString() {
    return "ImageConfig{argv="
        + argv()
        + ", env="
        + env
        + ", workingDir="
        + workingDir
        + ", user="
        + user
        + ", exposedTcpPorts="
        + exposedTcpPorts
        + "}";
  }

  /** Collects an {@link ImageConfig}; every list defaults to empty. Not thread-safe. */
  public static final class Builder {
    private List<String> entrypoint = List.of();
    private List<String> cmd = List.of();
    private List<String> env = List.of();
    private String workingDir = "/";
    private String user = "";
    private Set<Integer> exposedTcpPorts = Set.of();

    private Builder() {}

    public Builder entrypoint(List<String> entrypoint) {
      this.entrypoint = copyOfStrings(entrypoint, "entrypoint");
      return this;
    }

    public Builder cmd(List<String> cmd) {
      this.cmd = copyOfStrings(cmd, "cmd");
      return this;
    }

    /** {@code KEY=VALUE} strings; each must contain {@code =} after a non-empty key. */
    public Builder env(List<String> env) {
      List<String> copy = copyOfStrings(env, "env");
      for (String e : copy) {
        if (e.indexOf('=') < 1) {
          throw new IllegalArgumentException(
              "env entry is not KEY=VALUE: " + e + " (expected: a non-empty key, '=', a value)");
        }
      }
      this.env = copy;
      return this;
    }

    /** Empty or {@code null} means {@code /}. */
    public Builder workingDir(String workingDir) {
      this.workingDir = workingDir == null || workingDir.isEmpty() ? "/" : workingDir;
      return this;
    }

    /** Empty or {@code null} means root. */
    public Builder user(String user) {
      this.user = user == null ? "" : user;
      return this;
    }

    public Builder exposedTcpPorts(Set<Integer> ports) {
      for (Integer p : ports) {
        if (p == null || p < 1 || p > 65535) {
          throw new IllegalArgumentException(
              "exposed port out of range: " + p + " (expected: 1..65535)");
        }
      }
      this.exposedTcpPorts = Set.copyOf(ports);
      return this;
    }

    public ImageConfig build() {
      return new ImageConfig(this);
    }

    private static List<String> copyOfStrings(List<String> values, String what) {
      Objects.requireNonNull(values, what);
      for (String v : values) {
        if (v == null) {
          throw new IllegalArgumentException(what + " contains null: " + values);
        }
      }
      return List.copyOf(values);
    }
  }
}
