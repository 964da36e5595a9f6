package io.herd.core.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What this host lets a sandbox do: whether the JVM runs as root, whether the native launcher
 * {@code herd-launch} (see {@link LauncherBinary}) could be extracted, whether it can actually
 * create PID, IPC and mount namespaces here (it cannot in a container without {@code
 * CAP_SYS_ADMIN}, even as root), where the tools that build worker networks are (iproute2's
 * {@code ip}, nftables' {@code nft}, util-linux's {@code nsenter} and {@code unshare}, {@code sh}),
 * and whether the kernel's nf_tables can load a worker's firewall ({@link WorkerFirewall}: it
 * needs the nat, reject and socket expressions).
 *
 * <p>{@link #detect()} probes once per JVM (one short {@code herd-launch --namespaces -- true}
 * run, and as root one {@code unshare --net nft ...} that loads a worker ruleset into a throwaway
 * namespace) and caches the answer. Tests build instances by hand to play a host that lacks
 * something. Immutable and thread-safe.
 *
 * @param root whether the effective UID is 0
 * @param uid the effective UID, -1 when unknown
 * @param launcher the extracted {@code herd-launch}, or empty
 * @param launcherProblem why there is no launcher, or {@code null}
 * @param ip iproute2's command-line tool
 * @param namespaceProblem why namespaces cannot be created, or {@code null} when they can
 * @param sh a POSIX shell, which runs a worker network's set-up script inside its namespace
 * @param nsenter util-linux's {@code nsenter}, which enters a worker network to set it up
 * @param unshare util-linux's {@code unshare}, which makes the throwaway namespace of the
 *     firewall probe
 * @param nft nftables' command-line tool
 * @param firewallProblem why a worker's firewall cannot be loaded here (with how to fix it), or
 *     {@code null} when it can
 */
record HostSupport(boolean root, int uid, Optional<Path> launcher, String launcherProblem,
    Optional<Path> ip, String namespaceProblem, Optional<Path> sh, Optional<Path> nsenter,
    Optional<Path> unshare, Optional<Path> nft, String firewallProblem) {

  /** A host without network tools or nftables: for tests of launcher and identity alone. */
  HostSupport(boolean root, int uid, Optional<Path> launcher, String launcherProblem,
      Optional<Path> ip, String namespaceProblem) {
    this(root, uid, launcher, launcherProblem, ip, namespaceProblem, Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), NFT_MISSING);
  }

  /** The problem of a host without {@code nft}. */
  static final String NFT_MISSING =
      "nft (nftables) is not installed (to enable: apt-get install nftables)";

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

  /** Whether a worker's nftables firewall can be loaded. */
  boolean firewallWorks() {
    return firewallProblem == null;
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
    Optional<Path> unshare = find("unshare");
    Optional<Path> nft = find("nft");
    return new HostSupport(root, uid, launcher.path(), launcher.problem().orElse(null),
        find("ip"), problem, find("sh"), find("nsenter"), unshare, nft,
        firewallProblem(root, unshare, nft));
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

  /**
   * Loads a worker ruleset with every kind of statement it uses into a throwaway network
   * namespace, so that a kernel without nf_tables (or without its nat, reject or socket parts)
   * is found at start-up, not at the first worker.
   */
  private static String firewallProblem(boolean root, Optional<Path> unshare, Optional<Path> nft) {
    if (nft.isEmpty()) {
      return NFT_MISSING;
    }
    if (!root) {
      return "the gateway does not run as root (loading nftables rules needs CAP_NET_ADMIN)";
    }
    if (unshare.isEmpty()) {
      return "unshare (util-linux) is not installed, so nftables cannot be tried in a throwaway"
          + " namespace (to enable: apt-get install util-linux)";
    }
    String probe;
    try {
      probe = WorkerFirewall.ruleset(InetAddress.getByName("10.0.0.1"),
          InetAddress.getByName("10.0.0.2"),
          List.of(EgressRule.parse("internet:53").orElseThrow()));
    } catch (UnknownHostException e) {
      throw new AssertionError("literal addresses always parse", e);
    }
    try {
      HostCommand.run(List.of(unshare.get().toString(), "--net", "--", nft.get().toString(),
          probe));
      return null;
    } catch (IOException e) {
      return "the kernel's nf_tables cannot load the worker firewall (nat, reject and socket"
          + " expressions): " + e.getMessage() + " (to enable: a kernel with nf_tables, nft_nat,"
          + " nft_reject_inet and nft_socket, e.g. modprobe nft_socket)";
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

  /**
   * The JVM's effective UID, from {@code /proc/self/status} ({@code Uid: real effective ...}), or
   * -1 when unknown (not Linux). Read once: a JVM does not change its UID. The one place the
   * sandbox asks; not the owner of the {@code /proc/self} link, which is root whoever asks.
   */
  static int effectiveUid() {
    return EffectiveUid.VALUE;
  }

  private static final class EffectiveUid {
    static final int VALUE = readEffectiveUid();
  }

  private static int readEffectiveUid() {
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
