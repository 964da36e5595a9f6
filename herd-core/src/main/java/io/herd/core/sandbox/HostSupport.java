package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What this host lets a sandbox do: whether the JVM runs as root, where the tools are
 * (util-linux's {@code unshare}, {@code nsenter}, {@code setpriv}; iproute2's {@code ip}; {@code
 * sh}), and whether {@code unshare} can actually create PID, IPC and mount namespaces here (it
 * cannot in a container without {@code CAP_SYS_ADMIN}, even as root).
 *
 * <p>{@link #detect()} probes once per JVM (one short {@code unshare ... true} run) and caches the
 * answer. Tests build instances by hand to play a host that lacks something. Immutable and
 * thread-safe.
 *
 * @param root whether the effective UID is 0
 * @param namespaceProblem why namespaces cannot be created, or {@code null} when they can
 */
record HostSupport(boolean root, Optional<Path> sh, Optional<Path> unshare,
    Optional<Path> nsenter, Optional<Path> setpriv, Optional<Path> ip, String namespaceProblem) {

  private static final List<String> BIN_DIRS =
      List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin");

  /** This machine, probed on first use. */
  static HostSupport detect() {
    return Detected.INSTANCE;
  }

  /** A host with nothing: not root, no tools; for tests of the soft-fail path. */
  static HostSupport nothing() {
    return new HostSupport(false, Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), "unshare is not installed");
  }

  boolean namespacesWork() {
    return namespaceProblem == null;
  }

  private static HostSupport probe() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return nothing();
    }
    boolean root = effectiveUid() == 0;
    Optional<Path> unshare = find("unshare");
    String problem;
    if (unshare.isEmpty()) {
      problem = "unshare (util-linux) is not installed";
    } else if (!root) {
      problem = "the gateway does not run as root (creating namespaces needs CAP_SYS_ADMIN)";
    } else {
      problem = tryNamespaces(unshare.get());
    }
    return new HostSupport(root, find("sh"), unshare, find("nsenter"), find("setpriv"),
        find("ip"), problem);
  }

  private static String tryNamespaces(Path unshare) {
    try {
      HostCommand.run(List.of(unshare.toString(), "--pid", "--fork", "--kill-child",
          "--mount-proc", "--ipc", "--mount", "--", "true"));
      return null;
    } catch (IOException e) {
      return "unshare cannot create PID/IPC/mount namespaces here: " + e.getMessage();
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
