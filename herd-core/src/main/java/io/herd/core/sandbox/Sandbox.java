package io.herd.core.sandbox;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import io.herd.core.sandbox.CgroupLayout.Controller;
import io.herd.core.sandbox.CgroupLayout.Hierarchy;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.core.sandbox.SandboxReport.Protection;
import io.herd.core.sandbox.SandboxReport.State;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * The sandbox of one worker factory: decides once, from a {@link SandboxConfig} and what the host
 * supports, which protections its workers get ({@link #report()}), and then prepares each worker's
 * share of them ({@link #prepare}).
 *
 * <p>Manners: a protection that is configured but cannot be applied (not root, no writable
 * cgroup, a tool missing) is left out and listed in the report, so that the factory can log one
 * warning for the pool and start workers anyway; with {@code sandbox.required: true} {@link
 * #create} fails instead, listing everything missing.
 *
 * <p>How a worker is started, outermost first, each step an {@code exec} of the next except
 * {@code unshare}, which forks the namespace's first process:
 *
 * <pre>
 * setpriv --pdeathsig KILL --            (ProcessWorkerFactory, as without a sandbox)
 *  sh -c 'echo $$ &gt; .../cgroup.procs; exec "$@"'   joins the worker's cgroups first
 *   nsenter --net=/run/netns/herd-...    sandbox.network: isolated
 *    unshare --pid --fork --kill-child --mount-proc --ipc --mount   sandbox.namespaces
 *     setpriv --reuid U --regid U --clear-groups --no-new-privs --pdeathsig KILL   uid: isolated
 *      the worker command
 * </pre>
 *
 * <p>So the worker's own code never runs outside its cgroup, and the pid the pool sees is {@code
 * unshare}'s: SIGKILL to it makes {@code --kill-child} SIGKILL the namespace's first process, and
 * the kernel then kills everything else in the namespace. {@code unshare} blocks SIGTERM, so a
 * graceful stop must also signal its child ({@link WorkerSandbox#signalsChildren()}).
 *
 * <p>Network isolation ({@code sandbox.network}: {@code auto}, the default, means isolated where
 * the host allows it) gives each worker a namespace with its own nftables firewall, made ahead of
 * demand by {@link WorkerNetworks}; see {@link WorkerNetwork}, {@link WorkerFirewall} and {@link
 * HostFirewall} for the mechanism, and {@code docs/sandbox.md} for what a worker can reach.
 *
 * <p>Immutable after construction and thread-safe; lives as long as its factory, which {@link
 * #close()}s it. What it prepares for a worker is released by that worker's {@link
 * WorkerSandbox#release()}.
 */
public final class Sandbox implements AutoCloseable {

  /** What workers without network isolation can reach, said in the report. */
  static final String LOOPBACK_REACH = "workers share the host's network: each can connect to the"
      + " other workers' ports, to everything listening on the host (its loopback included) and"
      + " to the admin API";

  /** Joins every cgroup named in the arguments, then execs the rest: no unconstrained window. */
  static final String JOIN_SCRIPT = "n=$1; shift; while [ \"$n\" -gt 0 ]; do"
      + " echo $$ > \"$1\" || { echo \"herd sandbox: cannot join cgroup $1\" >&2; exit 125; };"
      + " shift; n=$((n-1)); done; exec \"$@\"";

  private static final AtomicLong SEQUENCE = new AtomicLong();

  private final SandboxConfig config;
  private final HostSupport host;
  private final CgroupLayout layout;
  private final SandboxReport report;
  private final boolean limits;
  private final boolean namespaces;
  private final boolean uid;
  private final boolean network;
  /** Null unless {@code network}. */
  private final WorkerNetworks networks;

  private Sandbox(SandboxConfig config, HostSupport host, CgroupLayout layout) {
    this.config = config;
    this.host = host;
    this.layout = layout;
    List<Protection> protections = new ArrayList<>();
    boolean memory = limit(protections, "sandbox.memory", "memory limit", Controller.MEMORY,
        config.memoryBytes() > 0, config.memoryBytes() + " bytes, no swap");
    boolean cpu = limit(protections, "sandbox.cpus", "CPU quota", Controller.CPU,
        config.cpus() > 0, config.cpus() + " cores");
    boolean pids = limit(protections, "sandbox.pids", "process limit", Controller.PIDS,
        config.pids() > 0, config.pids() + " processes and threads");
    this.limits = memory || cpu || pids;
    this.namespaces = protect(protections, "sandbox.namespaces", "PID, IPC and mount namespaces",
        config.enabled() && config.namespaces(), host.namespacesWork() ? null
            : host.namespaceProblem() + " (to enable: run the gateway as root on a host or"
                + " container that allows unshare, with util-linux installed)",
        "unshare --pid --ipc --mount --mount-proc --kill-child");
    this.uid = protect(protections, "sandbox.uid", "one UID per worker",
        config.enabled() && config.uid() == UidMode.ISOLATED, uidProblem(host),
        "UIDs " + config.uidFirst() + "-" + config.uidLast() + ", workdirs under "
            + config.workdirRoot());
    this.network = network(protections, config, host, uid);
    this.networks = network ? new WorkerNetworks(host, config.networkRangeParsed(),
        config.egress(), config.networkSpares()) : null;
    this.report = new SandboxReport(protections);
  }

  /**
   * The sandbox {@code config} asks for, on this host. Detects (once per JVM) what the host
   * supports; changes nothing on it.
   *
   * @throws InvalidConfigException when {@code sandbox.required} is true and something asked for
   *     cannot be applied; lists every such thing
   */
  public static Sandbox create(SandboxConfig config) {
    boolean detect = config.enabled();
    return create(config, detect ? HostSupport.detect() : HostSupport.nothing(),
        detect && config.hasLimits() ? CgroupLayout.detect(config.cgroupParent())
            : CgroupLayout.parse("", "", Optional.empty()));
  }

  static Sandbox create(SandboxConfig config, HostSupport host, CgroupLayout layout) {
    Sandbox sandbox = new Sandbox(config, host, layout);
    if (config.required() && !sandbox.report.unavailable().isEmpty()) {
      List<FieldProblem> problems = new ArrayList<>();
      for (Protection p : sandbox.report.unavailable()) {
        problems.add(new FieldProblem(p.key(), p.detail(), "cannot be applied on this host",
            "a host that supports it, or sandbox.required: false"));
      }
      throw new InvalidConfigException(problems);
    }
    return sandbox;
  }

  /**
   * Removes what the sandboxes of gateways that died (SIGKILL, power loss) left on this host: the
   * factory calls it once when it starts; {@code herd validate} should not, having no side
   * effects. See {@link StaleSandboxSweep}.
   *
   * @return what was removed
   */
  public List<String> sweepStale() {
    if (!active()) {
      return List.of();
    }
    List<Path> parents = new ArrayList<>();
    for (Controller c : Controller.values()) {
      layout.hierarchy(c).map(Hierarchy::parent).filter(p -> !parents.contains(p))
          .ifPresent(parents::add);
    }
    return StaleSandboxSweep.sweep(parents, network ? host.ip().orElse(null) : null,
        network ? host.nft().orElse(null) : null, uid ? config.workdirRoot() : null);
  }

  /** Which protections are in force; see {@link SandboxReport#describe()}. */
  public SandboxReport report() {
    return report;
  }

  /** What {@code herd validate} and the startup log print: {@link SandboxReport#describe()}. */
  public String describe() {
    return report.describe();
  }

  /** The configuration. */
  public SandboxConfig config() {
    return config;
  }

  /** Whether workers are wrapped at all. */
  public boolean active() {
    return limits || namespaces || uid || network;
  }

  /**
   * The one warning a pool logs when something configured is not applied, or empty.
   */
  public Optional<String> warning() {
    List<Protection> missing = report.unavailable();
    if (missing.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder text = new StringBuilder("worker sandbox incomplete, workers start without: ");
    for (int i = 0; i < missing.size(); i++) {
      Protection p = missing.get(i);
      text.append(i == 0 ? "" : "; ").append(p.name()).append(" (").append(p.key()).append("): ")
          .append(p.detail());
    }
    return Optional.of(text.append(". Set sandbox.required: true to refuse to start instead")
        .toString());
  }

  /**
   * Creates what worker {@code workerId} needs before it starts: its cgroup with the limits, its
   * UID and working directory, its network. On failure, releases what it created.
   *
   * @throws IOException saying what could not be created
   */
  public WorkerSandbox prepare(String workerId) throws IOException {
    long seq = SEQUENCE.incrementAndGet();
    long pid = ProcessHandle.current().pid();
    String name = "herd-" + pid + "-" + seq + "-" + workerId.replaceAll("[^A-Za-z0-9_.-]", "_");
    if (name.length() > 64) {
      name = name.substring(0, 64);
    }
    WorkerSandbox.Builder worker = new WorkerSandbox.Builder(host, namespaces);
    try {
      if (limits) {
        worker.cgroup(WorkerCgroup.create(layout, name, config), config.memoryBytes());
      }
      if (uid) {
        UidLeases.shared().scratchRoot(config.workdirRoot());
        int leased = UidLeases.shared().lease(config.uidFirst(), config.uidLast());
        worker.uid(leased);
        worker.workdir(createWorkdir(name, leased));
      }
      if (network) {
        worker.network(networks.take());
      }
    } catch (IOException | RuntimeException e) {
      worker.build().release();
      throw e;
    }
    return worker.build();
  }

  private Path createWorkdir(String name, int leasedUid) throws IOException {
    Path root = config.workdirRoot();
    if (!Files.isDirectory(root)) {
      Files.createDirectories(root);
      // Others may pass through to their own directory but not list the others.
      Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions
          .fromString("rwx--x--x"));
    }
    Path dir = root.resolve(name);
    Files.createDirectory(dir);
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions
        .fromString("rwx------"));
    Files.setAttribute(dir, "unix:gid", leasedUid);
    Files.setAttribute(dir, "unix:uid", leasedUid);
    return dir;
  }

  private boolean limit(List<Protection> out, String key, String name, Controller controller,
      boolean wanted, String what) {
    String problem = null;
    String how = "";
    if (wanted) {
      Hierarchy h = layout.hierarchy(controller).orElse(null);
      if (h == null) {
        problem = layout.whyMissing(controller).orElse("no cgroup hierarchy found")
            + " (to enable: mount the " + controller.kernelName + " controller, cgroup v2 or v1)";
      } else if (host.sh().isEmpty()) {
        problem = "no sh to join the cgroup with";
      } else if ((problem = writeProblem(h)) == null) {
        how = what + ", cgroup " + h.version().name().toLowerCase(java.util.Locale.ROOT) + " under "
            + h.parent();
      }
    }
    return protect(out, key, name, config.enabled() && wanted, problem, how);
  }

  private static String writeProblem(Hierarchy h) {
    Path existing = h.parent();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isWritable(existing)) {
      return "cgroup " + h.parent() + " is not writable by the gateway (to enable: run the"
          + " gateway as root, or delegate that cgroup to its user and set sandbox.cgroupParent)";
    }
    if (h.version() == CgroupVersion.V2 && existing.equals(h.parent())
        && Files.exists(h.parent().resolve("cgroup.type"))) {
      // Not the root: the "no internal processes" rule forbids giving controllers to children
      // of a cgroup that holds processes itself, such as the gateway's own.
      try {
        String procs = Files.readString(h.parent().resolve("cgroup.procs"),
            StandardCharsets.US_ASCII);
        if (!procs.isBlank()) {
          return "cgroup v2 " + h.parent() + " holds processes (the gateway's own cgroup?), so"
              + " it cannot hand controllers to worker cgroups (to enable: set"
              + " sandbox.cgroupParent to an empty delegated cgroup, e.g. systemd Delegate=yes)";
        }
      } catch (IOException e) {
        return "cannot read " + h.parent().resolve("cgroup.procs") + ": " + e.getMessage();
      }
    }
    return null;
  }

  private static String uidProblem(HostSupport host) {
    if (!host.root()) {
      return "the gateway does not run as root, so it cannot start workers under other UIDs"
          + " (to enable: run the gateway as root)";
    }
    return host.setpriv().isPresent() ? null
        : "setpriv (util-linux) is not installed (to enable: apt-get install util-linux)";
  }

  /** Decides network isolation and adds its report lines (and egress's, when configured). */
  private static boolean network(List<Protection> out, SandboxConfig config, HostSupport host,
      boolean uidIsolated) {
    String key = "sandbox.network";
    String name = "network isolation";
    List<EgressRule> egress = config.egress();
    if (!config.enabled()) {
      out.add(new Protection(key, name, State.OFF, ""));
      return false;
    }
    if (config.network() == NetworkMode.LOOPBACK) {
      out.add(new Protection(key, name, State.OFF, "sandbox.network is loopback, so "
          + LOOPBACK_REACH));
      return false;
    }
    String problem = networkProblem(host);
    if (problem != null) {
      out.add(new Protection(key, name, State.UNAVAILABLE, problem + "; until then "
          + LOOPBACK_REACH));
      if (!egress.isEmpty()) {
        out.add(new Protection("sandbox.egress", "egress", State.UNAVAILABLE,
            "needs network isolation (see sandbox.network)"));
      }
      return false;
    }
    String reach = egress.isEmpty() ? "nothing" : "only sandbox.egress";
    String caveat = uidIsolated || !host.root() ? ""
        : "; but workers run as root (sandbox.uid: shared), which may change their own"
            + " firewall: set sandbox.uid: isolated";
    out.add(new Protection(key, name, State.ENFORCED, "a network namespace with an nftables"
        + " firewall per worker, a /30 from " + config.networkRange() + ": workers reach " + reach
        + " (not the host, not each other); the gateway reaches a worker at its address whether"
        + " it binds 127.0.0.1, 0.0.0.0 or $HOST" + caveat));
    if (!egress.isEmpty()) {
      out.add(new Protection("sandbox.egress", "egress", State.ENFORCED, egress.stream()
          .map(EgressRule::toString).collect(Collectors.joining(", "))
          + "; routed through the host, masqueraded by the gateway's nft table herd-<pid>-<n>;"
          + " needs net.ipv4.ip_forward=1 (host-wide; " + ipForward()
          + "); DNS only if the resolver the worker uses is allowed"));
    }
    return true;
  }

  private static String ipForward() {
    try {
      String now = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward"),
          StandardCharsets.US_ASCII).trim();
      return now.equals("1") ? "already on" : "off now, turned on at the first worker";
    } catch (IOException e) {
      return "cannot read it: " + e.getMessage();
    }
  }

  private static String networkProblem(HostSupport host) {
    if (!host.root()) {
      return "the gateway does not run as root, so it cannot create network namespaces"
          + " (to enable: run the gateway as root)";
    }
    if (host.ip().isEmpty()) {
      return "ip (iproute2) is not installed (to enable: apt-get install iproute2)";
    }
    if (host.nsenter().isEmpty()) {
      return "nsenter (util-linux) is not installed (to enable: apt-get install util-linux)";
    }
    if (host.sh().isEmpty()) {
      return "no sh to configure the worker's namespace with";
    }
    return host.firewallWorks() ? null : host.firewallProblem();
  }

  private static boolean protect(List<Protection> out, String key, String name, boolean wanted,
      String problem, String how) {
    if (!wanted) {
      out.add(new Protection(key, name, State.OFF, ""));
      return false;
    }
    if (problem != null) {
      out.add(new Protection(key, name, State.UNAVAILABLE, problem));
      return false;
    }
    out.add(new Protection(key, name, State.ENFORCED, how));
    return true;
  }

  /**
   * Removes what the sandbox keeps besides its workers' own parts: the spare worker networks and
   * the host firewall; later prepares fail. Call when the factory closes; idempotent. Workers
   * still being stopped keep their networks (and their namespaces' firewalls) until released.
   */
  @Override
  public void close() {
    if (networks != null) {
      networks.close();
    }
  }

  /** The sandbox's worker networks; null without network isolation. For tests. */
  WorkerNetworks networks() {
    return networks;
  }

  @Override
  public String toString() {
    return "Sandbox{" + report.describe().replace('\n', ';') + "}";
  }
}
