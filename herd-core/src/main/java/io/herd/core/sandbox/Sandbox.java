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
 * <p>Immutable after construction and thread-safe; lives as long as its factory. What it prepares
 * for a worker is released by that worker's {@link WorkerSandbox#release()}.
 */
public final class Sandbox {

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
    this.network = protect(protections, "sandbox.network", "network isolation",
        config.enabled() && config.network() == NetworkMode.ISOLATED, networkProblem(host),
        "a network namespace and a veth pair per worker, from " + config.networkRange());
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
        uid ? config.workdirRoot() : null);
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
        int leased = UidLeases.shared().lease(config.uidFirst(), config.uidLast());
        worker.uid(leased);
        worker.workdir(createWorkdir(name, leased));
      }
      if (network) {
        String link = "hv" + Long.toString(pid, 36) + "-" + Long.toString(seq, 36);
        worker.network(WorkerNetwork.create(host.ip().orElseThrow(), "herd-" + pid + "-" + seq,
            link, config.networkRangeParsed()));
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

  private static String networkProblem(HostSupport host) {
    if (!host.root()) {
      return "the gateway does not run as root, so it cannot create network namespaces"
          + " (to enable: run the gateway as root)";
    }
    if (host.ip().isEmpty()) {
      return "ip (iproute2) is not installed (to enable: apt-get install iproute2)";
    }
    return host.nsenter().isPresent() ? null
        : "nsenter (util-linux) is not installed (to enable: apt-get install util-linux)";
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

  @Override
  public String toString() {
    return "Sandbox{" + report.describe().replace('\n', ';') + "}";
  }
}
