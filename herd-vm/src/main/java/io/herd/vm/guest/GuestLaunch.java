package io.herd.vm.guest;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the guest init starts the app: its argv, its exact environment, its working directory, the
 * UID and GID it runs as, and the guest port it listens on (which the host forwards to; the init
 * does not need it). Immutable; validated at construction.
 *
 * <p>{@link #encode()} gives the bytes of the guest's {@code /.herd/launch}, which {@code
 * herd-vm-init.c} reads: NUL-terminated strings, so that no argument or variable needs quoting —
 * {@code "herd-launch 1"}, uid, gid, working directory, argc, each argument, envc, each {@code
 * NAME=value}. The limits below are the init's fixed buffers.
 */
public final class GuestLaunch {

  /** The most arguments the guest init accepts. */
  public static final int MAX_ARGS = 1024;
  /** The most environment variables the guest init accepts. */
  public static final int MAX_ENV = 2048;
  /** The largest {@code /.herd/launch} the guest init reads. */
  public static final int MAX_BYTES = 256 * 1024;

  /** What a container runtime sets when the image's Env has no PATH (as Docker does). */
  public static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private static final String MAGIC = "herd-launch 1";

  private final List<String> argv;
  private final List<String> env;
  private final String workingDir;
  private final int uid;
  private final int gid;
  private final int port;

  private GuestLaunch(List<String> argv, List<String> env, String workingDir, int uid, int gid,
      int port) {
    this.argv = List.copyOf(argv);
    this.env = List.copyOf(env);
    this.workingDir = workingDir;
    this.uid = uid;
    this.gid = gid;
    this.port = port;
  }

  /**
   * A launch of exactly these values.
   *
   * @param argv the program (looked up in the env's PATH when it has no slash) and its arguments
   * @param env the app's whole environment, {@code NAME=value} each
   * @param workingDir an absolute directory in the guest
   * @param port the guest port the app listens on
   * @throws InvalidConfigException naming every bad value
   */
  public static GuestLaunch of(List<String> argv, List<String> env, String workingDir, int uid,
      int gid, int port) {
    List<FieldProblem> problems = new ArrayList<>();
    if (argv == null || argv.isEmpty()) {
      problems.add(FieldProblem.of("worker.vm.image", argv, "has no command (Entrypoint and Cmd"
          + " are both empty)", "an image whose config sets Entrypoint or Cmd"));
    } else if (argv.size() > MAX_ARGS) {
      problems.add(FieldProblem.of("worker.vm.image", argv.size() + " arguments",
          "has too many command arguments", "<= " + MAX_ARGS));
    } else {
      for (String arg : argv) {
        if (arg == null || arg.indexOf('\0') >= 0) {
          problems.add(FieldProblem.of("worker.vm.image", argv, "has a command argument that is"
              + " null or holds a NUL character", "arguments without NUL"));
          break;
        }
      }
    }
    if (env == null || env.size() > MAX_ENV) {
      problems.add(FieldProblem.of("worker.vm.image", env == null ? null : env.size() + " vars",
          "has no or too many environment variables", "0.." + MAX_ENV));
    } else {
      for (String e : env) {
        if (e == null || e.indexOf('=') <= 0 || e.indexOf('\0') >= 0) {
          problems.add(FieldProblem.of("worker.vm.image", e, "has a malformed Env entry",
              "NAME=value, without NUL"));
        }
      }
    }
    if (workingDir == null || !workingDir.startsWith("/") || workingDir.indexOf('\0') >= 0) {
      problems.add(FieldProblem.of("worker.vm.image", workingDir, "has a WorkingDir that is not"
          + " an absolute path", "an absolute guest path such as /app"));
    }
    if (uid < 0 || gid < 0) {
      problems.add(FieldProblem.of("worker.vm.image", uid + ":" + gid, "has a negative User",
          "uid and gid >= 0"));
    }
    if (port < 1 || port > 65535) {
      problems.add(FieldProblem.of("worker.vm.port", port, "is out of range", "1..65535"));
    }
    if (problems.isEmpty()) {
      GuestLaunch launch = new GuestLaunch(argv, env, workingDir, uid, gid, port);
      int size = launch.encode().length;
      if (size > MAX_BYTES) {
        problems.add(FieldProblem.of("worker.vm.image", size + " bytes", "has a command and"
            + " environment too large for the guest init", "<= " + MAX_BYTES + " bytes"));
      } else {
        return launch;
      }
    }
    throw new InvalidConfigException(problems);
  }

  /**
   * The launch a container runtime derives from an image's config: argv is Entrypoint followed by
   * Cmd, the environment is Env (plus {@link #DEFAULT_PATH} when it has no PATH), the working
   * directory is WorkingDir or {@code /}, and User ({@code name}, {@code uid}, {@code name:group},
   * {@code uid:gid}, or empty for root) is resolved against the root file system's {@code
   * /etc/passwd} and {@code /etc/group}.
   *
   * @param rootfs the unpacked image, for resolving user and group names
   * @throws InvalidConfigException naming every bad value
   */
  public static GuestLaunch forImage(List<String> entrypoint, List<String> cmd, List<String> env,
      String workingDir, String user, int port, Path rootfs) {
    List<String> argv = new ArrayList<>();
    if (entrypoint != null) {
      argv.addAll(entrypoint);
    }
    if (cmd != null) {
      argv.addAll(cmd);
    }
    List<String> environment = new ArrayList<>(env == null ? List.of() : env);
    if (environment.stream().noneMatch(e -> e != null && e.startsWith("PATH="))) {
      environment.add(DEFAULT_PATH);
    }
    String dir = workingDir == null || workingDir.isEmpty() ? "/" : workingDir;
    GuestUser owner = GuestUser.resolve(user, rootfs);
    return of(argv, environment, dir, owner.uid(), owner.gid(), port);
  }

  /** The program and its arguments. */
  public List<String> argv() {
    return argv;
  }

  /** The app's whole environment, {@code NAME=value} each, in order. */
  public List<String> env() {
    return env;
  }

  /** The app's working directory in the guest. */
  public String workingDir() {
    return workingDir;
  }

  public int uid() {
    return uid;
  }

  public int gid() {
    return gid;
  }

  /** The guest port the app listens on. */
  public int port() {
    return port;
  }

  /** The bytes of the guest's {@code /.herd/launch} (see the class comment). */
  public byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> strings = new ArrayList<>();
    strings.add(MAGIC);
    strings.add(Integer.toString(uid));
    strings.add(Integer.toString(gid));
    strings.add(workingDir);
    strings.add(Integer.toString(argv.size()));
    strings.addAll(argv);
    strings.add(Integer.toString(env.size()));
    strings.addAll(env);
    for (String s : strings) {
      out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
      out.write(0);
    }
    return out.toByteArray();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GuestLaunch l && argv.equals(l.argv) && env.equals(l.env)
        && workingDir.equals(l.workingDir) && uid == l.uid && gid == l.gid && port == l.port;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(argv, env, workingDir, uid, gid, port);
  }

  @Override
  public String toString() {
    // env values may hold secrets: names only
    return "GuestLaunch{argv=" + argv + ", env=" + env.stream().map(e -> e.substring(0,
        e.indexOf('='))).toList() + ", workingDir=" + workingDir + ", user=" + uid + ":" + gid
        + ", port=" + port + "}";
  }
}
