package io.herd.core.sandbox;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a worker's sandbox should enforce: cgroup limits, namespaces, a per-worker UID and network
 * isolation, where workers' scratch directories live, and whether failing to apply them is an
 * error. Immutable and thread-safe; {@link
 * Builder#build()} validates every field and reports all problems at once, keyed by the YAML keys
 * of the standalone gateway ({@code sandbox.memory}, ...).
 *
 * <p>Two starting points: {@link #defaults()}, what both a {@code ProcessWorkerConfig} and the
 * gateway get unless told otherwise: limits, PID/IPC/mount namespaces (private {@code /proc},
 * {@code /tmp}, {@code /dev/shm}), under a root JVM one unprivileged UID per worker ({@link
 * UidMode#AUTO}) and network isolation with a firewall ({@link NetworkMode#AUTO}), each where the
 * host allows it, and no egress. And {@link #none()}: plain child processes, for embedding code
 * and tests that opt out explicitly.
 *
 * <p>Whether the host can apply what is asked is decided later, per factory, by {@link Sandbox};
 * this class only checks that the values make sense.
 */
public final class SandboxConfig {

  /** Whether each worker runs under the gateway's own UID or under one leased for it. */
  public enum UidMode {
    /**
     * {@link #ISOLATED} when the JVM runs as root, {@link #SHARED} otherwise (the default): a
     * root gateway never hands root to a worker, and a non-root one cannot change UIDs anyway.
     */
    AUTO,
    /** The worker runs as the gateway's user. */
    SHARED,
    /** Each worker runs under its own unprivileged UID/GID from {@code sandbox.uidRange}. */
    ISOLATED
  }

  /** Whether the worker shares the host's network stack or gets its own namespace. */
  public enum NetworkMode {
    /**
     * {@link #ISOLATED} where the host allows it (root, with {@code ip} and a working {@code
     * nft}), {@link #LOOPBACK} elsewhere (the default). The report says which, and what workers
     * can reach.
     */
    AUTO,
    /**
     * The worker shares the host's network: it can connect to every other worker, to everything
     * the host listens on (loopback included) and to the admin API.
     */
    LOOPBACK,
    /**
     * The worker gets its own network namespace and firewall: only the gateway reaches it, and it
     * reaches nothing but what {@code sandbox.egress} allows.
     */
    ISOLATED
  }

  /** Default memory limit of {@link #defaults()}: 1 GiB. */
  public static final long DEFAULT_MEMORY_BYTES = 1L << 30;
  /** Default CPU quota of {@link #defaults()}, in cores. */
  public static final double DEFAULT_CPUS = 1.0;
  /** Default process/thread limit of {@link #defaults()}. */
  public static final int DEFAULT_PIDS = 1024;
  /** Default range of leased UIDs (and GIDs), inclusive. */
  public static final int DEFAULT_UID_FIRST = 200_000;
  public static final int DEFAULT_UID_LAST = 200_999;
  /** Where a root JVM puts worker scratch directories by default: outside /tmp, see below. */
  public static final Path ROOT_WORKDIR_ROOT = Path.of("/var/lib/herd/workers");
  /** Default private range that per-worker /30 networks are cut from. */
  public static final String DEFAULT_NETWORK_RANGE = "10.213.0.0/16";
  /** Default number of worker networks built ahead of demand, per pool. */
  public static final int DEFAULT_NETWORK_SPARES = 2;
  private static final int MAX_NETWORK_SPARES = 64;

  private static final long MIN_MEMORY_BYTES = 4L << 20;
  private static final Pattern SIZE =
      Pattern.compile("(\\d+)\\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)");
  private static final Pattern CIDR =
      Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");

  private final boolean enabled;
  private final long memoryBytes;
  private final double cpus;
  private final int pids;
  private final boolean namespaces;
  private final UidMode uid;
  private final int uidFirst;
  private final int uidLast;
  private final NetworkMode network;
  private final Ipv4Range networkRange;
  private final List<EgressRule> egress;
  private final int networkSpares;
  private final boolean required;
  private final String cgroupParent;
  private final Path workdirRoot;

  private SandboxConfig(Builder b, Ipv4Range networkRange, List<EgressRule> egress) {
    this.enabled = b.enabled;
    this.memoryBytes = b.memoryBytes;
    this.cpus = b.cpus;
    this.pids = b.pids;
    this.namespaces = b.namespaces;
    this.uid = b.uid;
    this.uidFirst = b.uidFirst;
    this.uidLast = b.uidLast;
    this.network = b.network;
    this.networkRange = networkRange;
    this.egress = List.copyOf(egress);
    this.networkSpares = b.networkSpares;
    this.required = b.required;
    this.cgroupParent = b.cgroupParent;
    this.workdirRoot = b.workdirRoot;
  }

  /** A copy of {@code base} with the limit values (memory, cpus, pids) of {@code limits}. */
  private SandboxConfig(SandboxConfig base, SandboxConfig limits) {
    this.enabled = base.enabled;
    this.memoryBytes = limits.memoryBytes;
    this.cpus = limits.cpus;
    this.pids = limits.pids;
    this.namespaces = base.namespaces;
    this.uid = base.uid;
    this.uidFirst = base.uidFirst;
    this.uidLast = base.uidLast;
    this.network = base.network;
    this.networkRange = base.networkRange;
    this.egress = base.egress;
    this.networkSpares = base.networkSpares;
    this.required = base.required;
    this.cgroupParent = base.cgroupParent;
    this.workdirRoot = base.workdirRoot;
  }

  /**
   * This config with the limit values ({@code memory}, {@code cpus}, {@code pids}) of {@code
   * other}; everything else stays. For a running factory, which can change the limits of the
   * workers it starts next but not the host-wide decisions (UIDs, networks, cgroup parent).
   */
  public SandboxConfig withLimitsOf(SandboxConfig other) {
    return new SandboxConfig(this, other);
  }

  /**
   * Whether {@code other} sets the same limits as this one (each of memory, cpus and pids set in
   * both or in neither), whatever their values. Only then can a running sandbox take {@code
   * other}'s values: a limit that was off when the sandbox was created had its cgroup controller
   * neither checked nor reported.
   */
  public boolean setsSameLimits(SandboxConfig other) {
    return (memoryBytes > 0) == (other.memoryBytes > 0)
        && (cpus > 0) == (other.cpus > 0)
        && (pids > 0) == (other.pids > 0);
  }

  /** No sandbox at all: workers run as plain child processes. */
  public static SandboxConfig none() {
    return new Builder().enabled(false).build();
  }

  /** The gateway's defaults, see the class comment. */
  public static SandboxConfig defaults() {
    return builder().build();
  }

  /** A builder starting from {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether any sandboxing is wanted; {@code false} only for {@link #none()}. */
  public boolean enabled() {
    return enabled;
  }

  /** Memory limit in bytes, swap included ({@code sandbox.memory}); 0 means no limit. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** CPU quota in cores ({@code sandbox.cpus}); 0 means no quota. */
  public double cpus() {
    return cpus;
  }

  /** Most processes and threads at once ({@code sandbox.pids}); 0 means no limit. */
  public int pids() {
    return pids;
  }

  /** Whether workers get their own PID, IPC and mount namespaces ({@code sandbox.namespaces}). */
  public boolean namespaces() {
    return namespaces;
  }

  /** {@code sandbox.uid}. */
  public UidMode uid() {
    return uid;
  }

  /** First UID of {@code sandbox.uidRange}, inclusive. */
  public int uidFirst() {
    return uidFirst;
  }

  /** Last UID of {@code sandbox.uidRange}, inclusive. */
  public int uidLast() {
    return uidLast;
  }

  /** {@code sandbox.network}. */
  public NetworkMode network() {
    return network;
  }

  /** {@code sandbox.networkRange}, the private IPv4 range per-worker networks come from. */
  public String networkRange() {
    return networkRange.toString();
  }

  Ipv4Range networkRangeParsed() {
    return networkRange;
  }

  /**
   * {@code sandbox.egress}: where an isolated worker may open connections to, besides answering
   * the gateway; empty (the default) for nowhere.
   */
  public List<EgressRule> egress() {
    return egress;
  }

  /**
   * {@code sandbox.networkSpares}: how many isolated worker networks each pool keeps built ahead
   * of demand, so that a cold start does not wait for one; 0 builds each when its worker starts.
   */
  public int networkSpares() {
    return networkSpares;
  }

  /** Whether a protection the host cannot apply fails start-up ({@code sandbox.required}). */
  public boolean required() {
    return required;
  }

  /**
   * The cgroup under which worker cgroups are created, relative to each hierarchy's root ({@code
   * sandbox.cgroupParent}); empty means the gateway's own cgroup.
   */
  public Optional<String> cgroupParent() {
    return Optional.ofNullable(cgroupParent);
  }

  /**
   * Where each worker's scratch directory ({@code <workdirRoot>/herd-<jvm pid>-<n>-<id>}, its
   * {@code $HOME}) is created ({@code sandbox.workdirRoot}). Default: {@link #ROOT_WORKDIR_ROOT}
   * under a root JVM, else {@code herd-workers-<uid>} under {@code java.io.tmpdir}. It must not
   * lie under {@code /tmp}, {@code /var/tmp} or {@code /dev/shm} where workers get private
   * copies of those, since the worker would not find its own {@code $HOME} there.
   */
  public Path workdirRoot() {
    return workdirRoot;
  }

  /** Whether any cgroup limit is set. */
  public boolean hasLimits() {
    return memoryBytes > 0 || cpus > 0 || pids > 0;
  }

  /** {@link #warnings(List, Path)} for a worker without a working directory of its own. */
  public List<String> warnings(List<String> command) {
    return warnings(command, null);
  }

  /**
   * Problems that are not errors but that {@code herd validate} should print: when workers get
   * UIDs of their own ({@code uid: isolated}, or {@code auto} under root), every absolute path in
   * {@code command} (and in {@code :}-separated lists such as class paths) that such a UID could
   * not read or run, and the working directory {@code workdir} if such a UID could not enter it.
   * At spawn time the same paths fail the start ({@link CommandAccessCheck}).
   *
   * @param workdir the workers' working directory ({@code worker.workdir}); null for none
   */
  public List<String> warnings(List<String> command, Path workdir) {
    boolean isolated = uid == UidMode.ISOLATED || (uid == UidMode.AUTO && effectiveUid() == 0);
    if (!enabled || !isolated || command == null) {
      return List.of();
    }
    return CommandAccessCheck.problems(command, workdir).stream()
        .map(p -> "sandbox.uid is " + uid.name().toLowerCase(Locale.ROOT) + " but " + p).toList();
  }

  @Override
  public String toString() {
    if (!enabled) {
      return "SandboxConfig{none}";
    }
    return "SandboxConfig{memory=" + memoryBytes + ", cpus=" + cpus + ", pids=" + pids
        + ", namespaces=" + namespaces + ", uid=" + uid + " " + uidFirst + "-" + uidLast
        + ", network=" + network + " " + networkRange + ", egress=" + egress
        + ", networkSpares=" + networkSpares
        + ", required=" + required
        + ", cgroupParent=" + cgroupParent + ", workdirRoot=" + workdirRoot + "}";
  }

  /** The default {@link #workdirRoot()}, see there. */
  static Path defaultWorkdirRoot() {
    int uid = effectiveUid();
    return uid == 0 ? ROOT_WORKDIR_ROOT
        : Path.of(System.getProperty("java.io.tmpdir"), "herd-workers-" + (uid < 0 ? "user" : uid));
  }

  private static int effectiveUid() {
    return HostSupport.effectiveUid(); // -1 when not Linux: no namespaces, no UID changes either
  }

  /** Parses {@code 512m}, {@code 1GiB}, {@code 268435456}: binary units, case-insensitive. */
  static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new NumberFormatException(text);
    }
    long value = Long.parseLong(m.group(1));
    int shift = switch (m.group(2).isEmpty() ? ' ' : m.group(2).charAt(0)) {
      case 'k' -> 10;
      case 'm' -> 20;
      case 'g' -> 30;
      case 't' -> 40;
      default -> 0;
    };
    if (value > (Long.MAX_VALUE >> shift)) {
      throw new NumberFormatException(text);
    }
    return value << shift;
  }

  /** Mutable builder starting from {@link #defaults()}; not thread-safe. */
  public static final class Builder {
    private boolean enabled = true;
    private long memoryBytes = DEFAULT_MEMORY_BYTES;
    private String memoryText;
    private double cpus = DEFAULT_CPUS;
    private int pids = DEFAULT_PIDS;
    private boolean namespaces = true;
    private UidMode uid = UidMode.AUTO;
    private int uidFirst = DEFAULT_UID_FIRST;
    private int uidLast = DEFAULT_UID_LAST;
    private NetworkMode network = NetworkMode.AUTO;
    private String networkRange = DEFAULT_NETWORK_RANGE;
    private List<String> egress = List.of();
    private int networkSpares = DEFAULT_NETWORK_SPARES;
    private boolean required;
    private String cgroupParent;
    private Path workdirRoot = defaultWorkdirRoot();

    private Builder() {}

    /** {@code false} turns every protection off, as {@link SandboxConfig#none()}. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** Memory limit in bytes; 0 for none. */
    public Builder memory(long bytes) {
      this.memoryBytes = bytes;
      this.memoryText = null;
      return this;
    }

    /** Memory limit as written in YAML: {@code 512m}, {@code 1GiB}, {@code 0} for none. */
    public Builder memory(String size) {
      this.memoryText = size;
      return this;
    }

    /** CPU quota in cores, e.g. {@code 0.5}; 0 for none. */
    public Builder cpus(double cpus) {
      this.cpus = cpus;
      return this;
    }

    /** Process and thread limit; 0 for none. */
    public Builder pids(int pids) {
      this.pids = pids;
      return this;
    }

    public Builder namespaces(boolean namespaces) {
      this.namespaces = namespaces;
      return this;
    }

    public Builder uid(UidMode uid) {
      this.uid = uid;
      return this;
    }

    /** The UIDs (and same-numbered GIDs) leased to workers, inclusive. */
    public Builder uidRange(int first, int last) {
      this.uidFirst = first;
      this.uidLast = last;
      return this;
    }

    public Builder network(NetworkMode network) {
      this.network = network;
      return this;
    }

    /** A private IPv4 range in CIDR notation, e.g. {@code 10.213.0.0/16}. */
    public Builder networkRange(String cidr) {
      this.networkRange = cidr;
      return this;
    }

    /**
     * Where isolated workers may connect to: entries as {@link EgressRule} describes ({@code
     * 10.0.0.0/8:5432}, {@code 192.0.2.7:443}, {@code internet}); empty for nowhere.
     */
    public Builder egress(List<String> entries) {
      this.egress = entries == null ? null : new ArrayList<>(entries);
      return this;
    }

    /** Worker networks built ahead of demand per pool; 0 for none. */
    public Builder networkSpares(int spares) {
      this.networkSpares = spares;
      return this;
    }

    /** {@link #egress(List)} with the entries given inline. */
    public Builder egress(String... entries) {
      return egress(List.of(entries));
    }

    public Builder required(boolean required) {
      this.required = required;
      return this;
    }

    /** E.g. {@code /herd}; {@code null} (the default) means the gateway's own cgroup. */
    public Builder cgroupParent(String cgroupParent) {
      this.cgroupParent = cgroupParent;
      return this;
    }

    public Builder workdirRoot(Path workdirRoot) {
      this.workdirRoot = workdirRoot;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws InvalidConfigException listing every invalid field
     */
    public SandboxConfig build() {
      List<FieldProblem> problems = new ArrayList<>();
      if (memoryText != null) {
        try {
          memoryBytes = parseSize(memoryText);
        } catch (NumberFormatException e) {
          problems.add(FieldProblem.of("sandbox.memory", memoryText, "is not a size",
              "bytes or a number with a k, m, g suffix, e.g. 512m; 0 for no limit"));
          memoryBytes = 0;
        }
      }
      if (memoryBytes < 0 || (memoryBytes > 0 && memoryBytes < MIN_MEMORY_BYTES)) {
        problems.add(FieldProblem.of("sandbox.memory", memoryBytes, "is too small",
            ">= 4m, or 0 for no limit"));
      }
      if (Double.isNaN(cpus) || cpus < 0 || (cpus > 0 && cpus < 0.01) || cpus > 4096) {
        problems.add(FieldProblem.of("sandbox.cpus", cpus, "is out of range",
            "0.01 to 4096 cores, or 0 for no quota"));
      }
      if (pids < 0) {
        problems.add(FieldProblem.of("sandbox.pids", pids, "is negative",
            ">= 1, or 0 for no limit"));
      }
      if (uid == null) {
        problems.add(FieldProblem.of("sandbox.uid", null, "is missing",
            "auto, shared or isolated"));
      }
      if (uidFirst < 1000 || uidLast < uidFirst || uidLast > 0x7fff_fffe) {
        problems.add(FieldProblem.of("sandbox.uidRange", uidFirst + "-" + uidLast, "is invalid",
            "first-last with 1000 <= first <= last <= 2147483646"));
      }
      if (network == null) {
        problems.add(FieldProblem.of("sandbox.network", null, "is missing",
            "auto, loopback or isolated"));
      }
      Ipv4Range range = parseRange(problems);
      List<EgressRule> rules = parseEgress(problems, range);
      if (networkSpares < 0 || networkSpares > MAX_NETWORK_SPARES) {
        problems.add(FieldProblem.of("sandbox.networkSpares", networkSpares, "is out of range",
            "0 to " + MAX_NETWORK_SPARES + " networks built ahead of demand per pool"));
      }
      if (cgroupParent != null && (!cgroupParent.startsWith("/") || cgroupParent.contains("..")
          || cgroupParent.indexOf('\0') >= 0)) {
        problems.add(FieldProblem.of("sandbox.cgroupParent", cgroupParent, "is invalid",
            "an absolute cgroup path such as /herd, without '..'"));
      }
      if (workdirRoot == null || !workdirRoot.isAbsolute()) {
        problems.add(FieldProblem.of("sandbox.workdirRoot", workdirRoot, "is not absolute",
            "an absolute directory path"));
      } else if (workdirRoot.getNameCount() == 0 || !workdirRoot.normalize().equals(workdirRoot)) {
        problems.add(FieldProblem.of("sandbox.workdirRoot", workdirRoot, "is invalid",
            "a directory below /, without '.' or '..', e.g. " + ROOT_WORKDIR_ROOT));
      } else if (enabled && namespaces && isPrivatized(workdirRoot)) {
        problems.add(FieldProblem.of("sandbox.workdirRoot", workdirRoot,
            "is under a directory each worker gets a private copy of",
            "a directory outside /tmp, /var/tmp and /dev/shm, e.g. " + ROOT_WORKDIR_ROOT
                + " (or sandbox.namespaces: false)"));
      }
      if (!problems.isEmpty()) {
        throw new InvalidConfigException(problems);
      }
      return new SandboxConfig(this, range, rules);
    }

    private List<EgressRule> parseEgress(List<FieldProblem> problems, Ipv4Range range) {
      if (egress == null) {
        problems.add(FieldProblem.of("sandbox.egress", null, "is missing",
            "a list of destinations, empty for none"));
        return List.of();
      }
      List<EgressRule> rules = EgressRule.parseAll("sandbox.egress", egress, range, problems);
      if (!egress.isEmpty() && network == NetworkMode.LOOPBACK) {
        problems.add(FieldProblem.of("sandbox.egress", egress,
            "needs network isolation, but sandbox.network is loopback",
            "sandbox.network: auto or isolated, or no egress (loopback workers reach everything"
                + " the host reaches)"));
      }
      return rules;
    }

    /**
     * Whether workers with a mount namespace see {@code dir} replaced by their private {@code
     * /tmp}, {@code /var/tmp} or {@code /dev/shm}. The non-root default is under {@code
     * java.io.tmpdir}; that is fine, since a non-root JVM gets no namespaces (see {@link
     * Sandbox}, which checks again against what the host enforces).
     */
    private boolean isPrivatized(Path dir) {
      return !dir.equals(defaultWorkdirRoot()) && Sandbox.isPrivatized(dir);
    }

    private Ipv4Range parseRange(List<FieldProblem> problems) {
      Matcher m = networkRange == null ? null : CIDR.matcher(networkRange.trim());
      Ipv4Range parsed = null;
      if (m != null && m.matches()) {
        try {
          parsed = Ipv4Range.parse(networkRange);
        } catch (IllegalArgumentException e) {
          parsed = null;
        }
      }
      if (parsed == null) {
        problems.add(FieldProblem.of("sandbox.networkRange", networkRange,
            "is not an IPv4 CIDR", "a private range such as 10.213.0.0/16"));
        return null;
      }
      Ipv4Range range = parsed.prefix() > 30 ? null : parsed;
      if (range == null || !range.isPrivate()) {
        problems.add(FieldProblem.of("sandbox.networkRange", networkRange,
            "is not a private range of at least 4 addresses",
            "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, prefix <= 30"));
        return null;
      }
      return range;
    }
  }
}
