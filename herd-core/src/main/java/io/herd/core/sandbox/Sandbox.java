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
 * <p>How a worker is started: by one exec of the native launcher {@code herd-launch} (see
 * {@link LauncherBinary} and {@code herd-core/src/main/c/herd-launch.c}), which does in order
 * what the flags of {@link WorkerSandbox#launcherFlags} ask:
 *
 * <pre>
 * herd-launch --setsid --parent JVM        pdeathsig SIGKILL; exits if the JVM is gone
 *   --cgroup .../cgroup.procs ...          joins the worker's cgroups first   (limits; made ahead)
 *   --netns /run/netns/herd-...            setns into the worker's network    (network: isolated)
 *   --namespaces --tmp SCRATCH/tmp         unshare PID+IPC+mount, fork an init (namespaces)
 *   --keep /tmp/app ...                    host paths under /tmp it needs, kept read-only
 *   --uid U --gid U --drop-caps --no-new-privs                     (uid; leased ahead)
 *   --chdir DIR -- the worker command
 * </pre>
 *
 * <p>With namespaces, the pid the pool sees is the outer launcher's; its child is PID 1 of the
 * namespace, a minimal init that mounts a fresh {@code /proc}, the scratch directory's {@code tmp}
 * on {@code /tmp} and {@code /var/tmp}, a fresh {@code /dev/shm} and {@code /run} (and
 * {@code /dev/mqueue}), forks the worker, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2
 * to it, reaps zombies and exits with the worker's status (128+N for signal N); the outer launcher forwards the same signals to the init and
 * mirrors its status. So {@code Process.destroy()} is a graceful stop even for a worker without
 * a SIGTERM handler (it is not PID 1), and SIGKILL of the outer launcher kills the init (its
 * parent-death signal) and with it, by the kernel, the whole namespace. The worker's own code
 * never runs outside its cgroup, nor with a capability or the gateway's UID.
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

  /**
   * Directories each worker with a mount namespace gets a private copy of: an empty one but for
   * /tmp and /var/tmp ({@code herd-launch} replaces /var/run and /var/lock only where they are
   * directories of their own rather than links into /run).
   */
  private static final List<Path> PRIVATIZED = List.of(Path.of("/tmp"), Path.of("/var/tmp"),
      Path.of("/dev/shm"), Path.of("/run"), Path.of("/var/run"), Path.of("/var/lock"));

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
  /** Null unless {@code limits}. */
  private final WorkerCgroups cgroups;
  /** Null unless {@code uid}. */
  private final WorkerUids uids;
  /** Where exited workers' sandboxes are released, off their exit path. */
  private final SandboxTeardown teardown = new SandboxTeardown();

  private Sandbox(SandboxConfig config, HostSupport host, CgroupLayout layout) {
    this.config = config;
    this.host = host;
    this.layout = layout;
    List<Protection> protections = new ArrayList<>();
    boolean memory = limit(protections, "sandbox.memory", "memory limit", Controller.MEMORY,
        config.memoryBytes() > 0, SizeText.bytes(Math.max(0, config.memoryBytes())), " (no swap)");
    boolean cpu = limit(protections, "sandbox.cpus", "CPU quota", Controller.CPU,
        config.cpus() > 0, SizeText.number(Math.max(0, config.cpus())), " cores");
    boolean pids = limit(protections, "sandbox.pids", "process limit", Controller.PIDS,
        config.pids() > 0, Long.toString(config.pids()), " processes and threads");
    this.limits = memory || cpu || pids;
    this.namespaces = protect(protections, "sandbox.namespaces", "PID, IPC and mount namespaces",
        config.enabled() && config.namespaces(), host.namespacesWork() ? null
            : host.namespaceProblem() + " (to enable: run the gateway as root on a host or"
                + " container that allows unshare)",
        "a minimal init as PID 1; private /proc, /dev/shm, /run, and /tmp and /var/tmp backed"
            + " by the worker's scratch directory");
    boolean uidWanted = config.enabled() && (config.uid() == UidMode.ISOLATED
        || (config.uid() == UidMode.AUTO && host.root()));
    this.uid = protect(protections, "sandbox.uid", "one UID per worker", uidWanted,
        uidProblem(host),
        "UIDs " + config.uidFirst() + "-" + config.uidLast() + ", no capabilities,"
            + " no_new_privs");
    if (!uidWanted && config.enabled() && config.uid() == UidMode.AUTO) {
      protections.set(protections.size() - 1, new Protection("sandbox.uid", "one UID per worker",
          State.OFF, "auto: the gateway does not run as root, so workers run as its user"));
    }
    this.network = network(protections, config, host, uid);
    this.networks = network ? new WorkerNetworks(host, config.networkRangeParsed(),
        config.egress(), config.networkSpares()) : null;
    this.cgroups = limits ? new WorkerCgroups(layout, WorkerCgroups.SPARES) : null;
    this.uids = uid ? new WorkerUids(UidLeases.shared(), config.uidFirst(), config.uidLast(),
        config.workdirRoot(), WorkerUids.SPARES) : null;
    this.report = new SandboxReport(protections, gaps(host));
  }

  /**
   * What a hostile worker can do about identity and files because a protection is not in force,
   * said plainly for the startup log and {@code herd validate}. (What it can reach on the network
   * is said on the network line.)
   */
  private List<String> gaps(HostSupport host) {
    List<String> gaps = new ArrayList<>();
    if (!uid) {
      String who = host.root() ? "root, with every capability" : "the gateway's user"
          + (host.uid() >= 0 ? " (uid " + host.uid() + ")" : "");
      gaps.add("workers run as " + who + ": they can read and write every file the gateway can,"
          + " its configuration file (admin token, session secret) included, and signal or"
          + " ptrace the gateway and each other");
    }
    if (!namespaces) {
      gaps.add("workers share /tmp, /var/tmp and /dev/shm with each other and the gateway, and"
          + " see every process of the host in /proc");
    }
    if (!uid) {
      gaps.add("each worker still gets its own scratch directory (mode 0700, $HOME) and a"
          + " clean environment, but workers of one user can read each other's scratch"
          + " directories");
    }
    return gaps;
  }

  /** Whether {@code dir} lies in a directory that each namespaced worker gets a copy of. */
  static boolean isPrivatized(Path dir) {
    Path normal = dir.toAbsolutePath().normalize();
    return PRIVATIZED.stream().anyMatch(normal::startsWith);
  }

  /** Whether {@code dir} is itself one of the directories each namespaced worker gets a copy of. */
  static boolean isPrivatizedRoot(Path dir) {
    return PRIVATIZED.contains(dir.toAbsolutePath().normalize());
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
    if (sandbox.namespaces && isPrivatized(config.workdirRoot())) {
      throw new InvalidConfigException(List.of(new FieldProblem("sandbox.workdirRoot",
          config.workdirRoot().toString(), "is under a directory each worker gets a private copy"
              + " of", "a directory outside /tmp, /var/tmp and /dev/shm, e.g. "
              + SandboxConfig.ROOT_WORKDIR_ROOT + " (or sandbox.namespaces: false)")));
    }
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
    List<Path> parents = new ArrayList<>();
    for (Controller c : Controller.values()) {
      layout.hierarchy(c).map(Hierarchy::parent).filter(p -> !parents.contains(p))
          .ifPresent(parents::add);
    }
    return StaleSandboxSweep.sweep(parents, network ? host.ip().orElse(null) : null,
        network ? host.nft().orElse(null) : null, config.workdirRoot());
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

  /** Whether workers are confined at all (beyond their scratch directory). */
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
   * Creates what worker {@code workerId} needs before it starts: its scratch directory (always,
   * even without any protection), its cgroup with the limits, its UID, its network; the cgroup,
   * the UID and the network are usually spares made ahead ({@link WorkerCgroups}, {@link
   * WorkerUids}, {@link WorkerNetworks}). On failure, releases what it created.
   *
   * @throws IOException saying what could not be created
   */
  public WorkerSandbox prepare(String workerId) throws IOException {
    return prepare(workerId, config);
  }

  /**
   * {@link #prepare(String)} with the memory, CPU and process limits of {@code values}, for a
   * factory whose limits were changed while it runs; everything else about the sandbox was decided
   * when it was created.
   *
   * @throws IllegalArgumentException when {@code values} turns a limit on or off ({@link
   *     SandboxConfig#setsSameLimits}): that needs a new sandbox
   */
  public WorkerSandbox prepare(String workerId, SandboxConfig values) throws IOException {
    if (!config.setsSameLimits(values)) {
      throw new IllegalArgumentException("sandbox limits can change value but not be turned on"
          + " or off in a running sandbox: memory " + config.memoryBytes() + " -> "
          + values.memoryBytes() + ", cpus " + config.cpus() + " -> " + values.cpus()
          + ", pids " + config.pids() + " -> " + values.pids());
    }
    long seq = SEQUENCE.incrementAndGet();
    long pid = ProcessHandle.current().pid();
    String name = "herd-" + pid + "-" + seq + "-" + workerId.replaceAll("[^A-Za-z0-9_.-]", "_");
    if (name.length() > 64) {
      name = name.substring(0, 64);
    }
    WorkerSandbox.Builder worker = new WorkerSandbox.Builder(namespaces, teardown);
    try {
      if (limits) {
        worker.cgroup(cgroups.take(values), values.memoryBytes());
      }
      int owner = -1;
      if (uid) {
        owner = uids.take();
        worker.uid(owner);
      }
      worker.scratch(ScratchDirectory.create(config.workdirRoot(), name, owner));
      if (network) {
        worker.network(networks.take());
      }
    } catch (IOException | RuntimeException e) {
      worker.build().release();
      throw e;
    }
    return worker.build();
  }

  /**
   * Fails when a worker of {@code sandbox} could not use the program, files or working directory
   * its command names, because it runs under a leased UID that may not read them; see {@link
   * CommandAccessCheck}. Does nothing for workers that run as the gateway's user.
   *
   * @throws IOException naming the path, the UID and the fix
   */
  public static void checkAccess(WorkerSandbox sandbox, List<String> command, Path workdir)
      throws IOException {
    if (sandbox.uid().isPresent()) {
      CommandAccessCheck.check(command, workdir, sandbox.uid().getAsInt());
    }
  }

  /**
   * Whether workers of this sandbox see their own empty copy of the directory holding {@code
   * path} ({@code /tmp}, {@code /var/tmp}, {@code /dev/shm}, {@code /run}) instead of the one the
   * gateway sees: true with mount namespaces for a path under one of those. For factories that
   * hand workers files to open (a VM's kernel and snapshots), to fail with the key at fault.
   */
  public boolean hidesFromWorkers(Path path) {
    return namespaces && isPrivatized(path);
  }

  /** Whether this sandbox runs workers under leased UIDs of their own. */
  public boolean isolatesUid() {
    return uid;
  }

  /**
   * Whether a worker under a leased UID could execute {@code program}: every directory on its
   * way searchable, and the file readable and executable, by "others".
   */
  public static boolean othersCanRun(Path program) {
    return CommandAccessCheck.problems(List.of(program.toString()), null).isEmpty();
  }

  /**
   * Adds a cgroup limit's line: {@code value} is its short form for the one-line summary ({@code
   * 512 MiB}), {@code value + unit} starts its detail.
   */
  private boolean limit(List<Protection> out, String key, String name, Controller controller,
      boolean wanted, String value, String unit) {
    String what = value + unit;
    String problem = null;
    String how = "";
    if (wanted) {
      Hierarchy h = layout.hierarchy(controller).orElse(null);
      if (h == null) {
        problem = layout.whyMissing(controller).orElse("no cgroup hierarchy found")
            + " (to enable: mount the " + controller.kernelName + " controller, cgroup v2 or v1)";
      } else if (host.launcher().isEmpty()) {
        problem = host.launcherProblem();
      } else if ((problem = writeProblem(h)) == null) {
        how = what + ", cgroup " + h.version().name().toLowerCase(java.util.Locale.ROOT) + " under "
            + h.parent();
      }
    }
    boolean on = protect(out, key, name, config.enabled() && wanted, problem, how);
    if (on) {
      Protection p = out.get(out.size() - 1);
      out.set(out.size() - 1, new Protection(p.key(), p.name(), p.state(), p.detail(), value));
    }
    return on;
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
    return host.launcher().isPresent() ? null : host.launcherProblem();
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
    if (host.launcher().isEmpty()) {
      return host.launcherProblem();
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
   * Waits for the teardowns of exited workers' sandboxes still queued ({@link
   * WorkerSandbox#releaseInBackground()}), then removes what the sandbox keeps besides its
   * workers' own parts: the spare worker networks, cgroups and UIDs, and the host firewall; later
   * prepares fail. Call when the factory closes; idempotent. Workers still being stopped keep
   * their networks (and their namespaces' firewalls) until released, which then happens on their
   * exit thread.
   */
  @Override
  public void close() {
    teardown.close();
    if (networks != null) {
      networks.close();
    }
    if (cgroups != null) {
      cgroups.close();
    }
    if (uids != null) {
      uids.close();
    }
  }

  /** The sandbox's worker UIDs; null without UID isolation. For tests. */
  WorkerUids uids() {
    return uids;
  }

  /** The sandbox's worker cgroups; null without limits. For tests. */
  WorkerCgroups cgroups() {
    return cgroups;
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
