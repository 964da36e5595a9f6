package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What this host lets a sandbox do: whether the JVM runs as root, whether the native launcher
 * {@code herd-launch} (see {@link LauncherBinary}) could be extracted, where iproute2's {@code ip}
 * is, and whether the launcher can actually create PID, IPC and mount namespaces here (it cannot
 * in a container without {@code CAP_SYS_ADMIN}, even as root).
 *
 * <p>{@link #detect()} probes once per JVM (one short {@code herd-launch --namespaces -- true}
 * run) and caches the answer. Tests build instances by hand to play a host that lacks something.
 * Immutable and thread-safe.
 *
 * @param root whether the effective UID is 0
 * @param uid the effective UID, -1 when unknown
 * @param launcher the extracted {@code herd-launch}, or empty
 * @param launcherProblem why there is no launcher, or {@code null}
 * @param namespaceProblem why namespaces cannot be created, or {@code null} when they can
 */
record HostSupport(boolean root, int uid, Optional<Path> launcher, String launcherProblem,
    Optional<Path> ip, String namespaceProblem) {

  private static final List<String> BIN_DIRS =
      List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin");

  /** This machine, probed on first use. */
  static HostSupport detect() {
    return Detected.INSTANCE;
  }

  /** A host with nothing: not root, no launcher, no tools; for tests of the soft-fail path. */
  static HostSupport nothing() {
    return new HostSupport(false, -1, Optional.empty(), "herd-launch is not available",
        Optional.empty(), "herd-launch is not available");
  }

  boolean namespacesWork() {
    return namespaceProblem == null;
  }

  private static HostSupport probe() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return nothing();
    }
    int uid = effectiveUid();
    boolean root = uid == 0;
    LauncherBinary launcher = LauncherBinary.detect();
    String problem;
    if (launcher.path().isEmpty()) {
      problem = launcher.problem().orElse("herd-launch is not available");
    } else if (!root) {
      problem = "the gateway does not run as root (creating namespaces needs CAP_SYS_ADMIN)";
    } else {
      problem = tryNamespaces(launcher.path().get());
    }
    return new HostSupport(root, uid, launcher.path(), launcher.problem().orElse(null),
        find("ip"), problem);
  }

  private static String tryNamespaces(Path launcher) {
    Optional<Path> trueProgram = find("true");
    if (trueProgram.isEmpty()) {
      return "no 'true' program to try namespaces with";
    }
    try {
      HostCommand.run(List.of(launcher.toString(), "--namespaces", "--",
          trueProgram.get().toString()));
      return null;
    } catch (IOException e) {
      return "herd-launch cannot create PID/IPC/mount namespaces here: " + e.getMessage();
    }
  }

  private static Optional<Path> find(String tool) {
    for (String dir : BIN_DIRS) {
      Path candidate = Path.of(dir, tool);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** The effective UID from {@code /proc/self/status} ({@code Uid: real effective ...}). */
  private static int effectiveUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (line.startsWith("Uid:")) {
          return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // unknown: treat as unprivileged
    }
    return -1;
  }

  /** Lazy holder: probes on first use only. */
  private static final class Detected {
    static final HostSupport INSTANCE = probe();
  }
}
