package io.herd.core.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's share of its factory's {@link Sandbox}: its cgroup, leased UID and working
 * directory, network namespace, and the command prefix that puts the worker into them. Made by
 * {@link Sandbox#prepare} just before the worker is launched, used by {@code ProcessWorker}
 * while it runs, and {@linkplain #release() released} once it has exited: the cgroup is read
 * for OOM kills and removed, the namespace deleted, the UID and the addresses handed back.
 *
 * <p>Thread-safe: immutable but for the release flag, which flips once.
 */
public final class WorkerSandbox {

  /** What {@link #exitCause()} says of a worker the kernel's OOM killer killed. */
  public static final String OOM_KILLED = io.herd.core.WorkerExit.OOM_KILLED;

  private static final Logger log = LoggerFactory.getLogger(WorkerSandbox.class);
  private static final WorkerSandbox NONE = new Builder(null, false).build();

  private final HostSupport host;
  private final boolean namespaces;
  private final WorkerCgroup cgroup;
  private final OptionalInt uid;
  private final Path workdir;
  private final WorkerNetwork network;
  private final long memoryBytes;
  private final AtomicBoolean released = new AtomicBoolean();

  private WorkerSandbox(Builder b) {
    this.host = b.host;
    this.namespaces = b.namespaces;
    this.cgroup = b.cgroup;
    this.uid = b.uid;
    this.workdir = b.workdir;
    this.network = b.network;
    this.memoryBytes = b.memoryBytes;
  }

  /** No sandbox: commands unchanged, loopback address, nothing to release. */
  public static WorkerSandbox none() {
    return NONE;
  }

  /** {@code argv} prefixed with the steps of the class comment of {@link Sandbox}. */
  public List<String> wrap(List<String> argv) {
    List<String> wrapped = new ArrayList<>();
    if (cgroup != null) {
      List<Path> procs = cgroup.procsFiles();
      wrapped.addAll(List.of(host.sh().orElseThrow().toString(), "-c", Sandbox.JOIN_SCRIPT,
          "herd-sandbox", Integer.toString(procs.size())));
      procs.forEach(p -> wrapped.add(p.toString()));
    }
    if (network != null) {
      wrapped.addAll(List.of(host.nsenter().orElseThrow().toString(),
          "--net=" + network.namespaceFile(), "--"));
    }
    if (namespaces) {
      wrapped.addAll(List.of(host.unshare().orElseThrow().toString(), "--pid", "--fork",
          "--kill-child", "--mount-proc", "--ipc", "--mount", "--"));
    }
    if (uid.isPresent()) {
      String id = Integer.toString(uid.getAsInt());
      // --pdeathsig again: changing the UID clears the one unshare --kill-child set.
      wrapped.addAll(List.of(host.setpriv().orElseThrow().toString(), "--reuid=" + id,
          "--regid=" + id, "--clear-groups", "--no-new-privs", "--pdeathsig", "KILL", "--"));
    }
    wrapped.addAll(argv);
    return wrapped;
  }

  /** Where the worker listens and is probed: its veth address, else 127.0.0.1. */
  public InetAddress host() {
    return network != null ? network.workerAddress() : InetAddress.getLoopbackAddress();
  }

  /** The working directory created for the worker ({@code uid: isolated}), if any. */
  public Optional<Path> workdir() {
    return Optional.ofNullable(workdir);
  }

  /** Environment the sandbox adds: {@code HOST} with network isolation, {@code HOME}. */
  public Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    if (network != null) {
      env.put("HOST", network.workerAddress().getHostAddress());
    }
    if (workdir != null) {
      env.put("HOME", workdir.toString());
    }
    return env;
  }

  /**
   * Whether a graceful stop must SIGTERM the launcher's children too: {@code unshare} blocks
   * SIGTERM and only passes SIGKILL on (through {@code --kill-child}).
   */
  public boolean signalsChildren() {
    return namespaces;
  }

  /** The leased UID, if any. */
  public OptionalInt uid() {
    return uid;
  }

  /** The cgroup directories, one per hierarchy; empty without limits. */
  public List<Path> cgroupDirs() {
    return cgroup == null ? List.of() : cgroup.dirs();
  }

  /** The network namespace's name, if any. */
  public Optional<String> networkNamespace() {
    return network == null ? Optional.empty() : Optional.of(network.namespace());
  }

  /**
   * Why the worker died, as far as the sandbox knows: {@link #OOM_KILLED} when the OOM killer
   * struck in its cgroup. Call after the exit and before {@link #release()}.
   */
  public Optional<String> exitCause() {
    if (cgroup == null || !cgroup.oomKilled()) {
      return Optional.empty();
    }
    // With a PID namespace the exit code is unshare's, which turns its child's SIGKILL into 1.
    return Optional.of(OOM_KILLED + " (over the " + memoryBytes + "-byte sandbox.memory limit,"
        + " killed by the kernel)");
  }

  /**
   * Removes the cgroup, the network and the working directory and releases the UID; call once
   * the worker's process has exited. Idempotent; logs what could not be removed.
   */
  public void release() {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    List<String> left = new ArrayList<>();
    if (cgroup != null) {
      cgroup.destroy().forEach(dir -> left.add("cgroup " + dir));
    }
    if (network != null) {
      left.addAll(network.destroy());
    }
    if (workdir != null) {
      try (Stream<Path> files = Files.walk(workdir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      } catch (IOException e) {
        left.add("workdir " + workdir + ": " + e.getMessage());
      }
    }
    // The UID last: nothing of the worker runs or owns a file any more.
    uid.ifPresent(u -> UidLeases.shared().release(u));
    if (!left.isEmpty()) {
      log.warn("worker sandbox not fully removed: {}", left);
    }
  }

  @Override
  public String toString() {
    return "WorkerSandbox{cgroup=" + cgroup + ", uid=" + uid + ", network=" + network
        + ", namespaces=" + namespaces + "}";
  }

  /** Collects the parts while {@link Sandbox#prepare} creates them; not thread-safe. */
  static final class Builder {
    private final HostSupport host;
    private final boolean namespaces;
    private WorkerCgroup cgroup;
    private OptionalInt uid = OptionalInt.empty();
    private Path workdir;
    private WorkerNetwork network;
    private long memoryBytes;

    Builder(HostSupport host, boolean namespaces) {
      this.host = host;
      this.namespaces = namespaces;
    }

    void cgroup(WorkerCgroup cgroup, long memoryBytes) {
      this.cgroup = cgroup;
      this.memoryBytes = memoryBytes;
    }

    void uid(int uid) {
      this.uid = OptionalInt.of(uid);
    }

    void workdir(Path workdir) {
      this.workdir = workdir;
    }

    void network(WorkerNetwork network) {
      this.network = network;
    }

    WorkerSandbox build() {
      return new WorkerSandbox(this);
    }
  }
}
