package io.herd.core.sandbox;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's share of its factory's {@link Sandbox}: its scratch directory, cgroup, leased UID,
 * network namespace, and the {@code herd-launch} flags that put the worker into them. Made by
 * {@link Sandbox#prepare} just before the worker is launched, used by {@code ProcessWorker}
 * while it runs, and {@linkplain #release() released} once it has exited: the cgroup is read
 * for OOM kills and removed, the namespace deleted, the scratch directory deleted, the UID and
 * the addresses handed back. After a worker's exit that happens on its sandbox's teardown thread
 * ({@link #releaseInBackground()}), off the path on which the exit is reported.
 *
 * <p>Thread-safe: immutable but for the release flag, which flips once, and {@link #released()},
 * which completes once.
 */
public final class WorkerSandbox {

  /** What {@link #exitCause()} says of a worker the kernel's OOM killer killed. */
  public static final String OOM_KILLED = io.herd.core.WorkerExit.OOM_KILLED;

  private static final Logger log = LoggerFactory.getLogger(WorkerSandbox.class);

  private final boolean namespaces;
  private final WorkerCgroup cgroup;
  private final OptionalInt uid;
  private final Path scratch;
  private final WorkerNetwork network;
  private final long memoryBytes;
  /** Where {@link #releaseInBackground()} runs; null to release on the caller's thread. */
  private final SandboxTeardown teardown;
  private final AtomicBoolean released = new AtomicBoolean();
  private final CompletableFuture<Void> releaseDone = new CompletableFuture<>();

  private WorkerSandbox(Builder b) {
    this.namespaces = b.namespaces;
    this.teardown = b.teardown;
    this.cgroup = b.cgroup;
    this.uid = b.uid;
    this.scratch = b.scratch;
    this.network = b.network;
    this.memoryBytes = b.memoryBytes;
  }

  /** At most this many {@code --keep} paths (herd-launch's own limit). */
  static final int MAX_KEPT = 16;

  private static final Path RESOLV_CONF = Path.of("/etc/resolv.conf");

  /**
   * The {@code herd-launch} flags that confine the worker, in the launcher's order (see {@link
   * Sandbox}): {@code --cgroup} per cgroup, {@code --netns}, {@code --namespaces --tmp --keep},
   * {@code --uid --gid --drop-caps --no-new-privs}. Empty without protections; the caller adds
   * {@code --setsid --parent} and {@code --chdir}.
   *
   * <p>The private {@code /tmp}, {@code /var/tmp} and {@code /run} of a worker with namespaces
   * hide whatever the host has there, so the paths its command names and its directory {@code
   * cwd} that lie under them are kept visible, read-only ({@code --keep}): a configuration kept
   * in {@code /tmp/app} still finds its script, and the worker the host's {@code
   * /etc/resolv.conf} where that links into /run. Never {@code /tmp} or {@code /run} itself,
   * which would undo the privacy.
   *
   * @param command the worker's argv, placeholders replaced
   * @param cwd the directory it starts in, or null
   */
  public List<String> launcherFlags(List<String> command, Path cwd) {
    List<String> flags = new ArrayList<>();
    if (cgroup != null) {
      cgroup.procsFiles().forEach(p -> flags.addAll(List.of("--cgroup", p.toString())));
    }
    if (network != null) {
      flags.addAll(List.of("--netns", network.namespaceFile().toString()));
    }
    if (namespaces) {
      flags.add("--namespaces");
      if (scratch != null) {
        flags.addAll(List.of("--tmp", ScratchDirectory.tmp(scratch).toString()));
      }
      for (Path kept : keptPaths(command, cwd)) {
        flags.addAll(List.of("--keep", kept.toString()));
      }
    }
    if (uid.isPresent()) {
      String id = Integer.toString(uid.getAsInt());
      flags.addAll(List.of("--uid", id, "--gid", id, "--drop-caps", "--no-new-privs"));
    }
    return flags;
  }

  /**
   * The existing paths under a privatized directory that {@code command} names or {@code cwd}
   * is, strictly below it, without those inside another kept path, at most {@link #MAX_KEPT}.
   */
  static List<Path> keptPaths(List<String> command, Path cwd) {
    List<Path> candidates = new ArrayList<>();
    if (cwd != null) {
      candidates.add(cwd);
    }
    candidates.addAll(CommandAccessCheck.namedPaths(command));
    resolverConfig().ifPresent(candidates::add);
    List<Path> kept = new ArrayList<>();
    for (Path candidate : candidates) {
      Path p = candidate.toAbsolutePath().normalize();
      if (!Sandbox.isPrivatized(p) || Sandbox.isPrivatizedRoot(p) || !Files.exists(p)) {
        continue;
      }
      if (kept.stream().anyMatch(p::startsWith)) {
        continue;
      }
      kept.removeIf(k -> k.startsWith(p));
      kept.add(p);
    }
    return kept.size() > MAX_KEPT ? kept.subList(0, MAX_KEPT) : kept;
  }

  /**
   * The file {@code /etc/resolv.conf} links to, which lies under /run where systemd-resolved,
   * resolvconf or NetworkManager write it: kept (the file alone, not the resolver's socket
   * beside it) so that a worker still reads the host's DNS settings.
   */
  private static Optional<Path> resolverConfig() {
    try {
      return Optional.of(RESOLV_CONF.toRealPath());
    } catch (java.io.IOException e) {
      return Optional.empty();
    }
  }

  /** Where the worker listens and is probed: its veth address, else 127.0.0.1. */
  public InetAddress host() {
    return network != null ? network.workerAddress() : InetAddress.getLoopbackAddress();
  }

  /**
   * The worker's scratch directory ({@code $HOME}, {@code $HERD_WORKDIR}, {@code {{workdir}}});
   * empty only for {@link #none()}.
   */
  public Optional<Path> workdir() {
    return Optional.ofNullable(scratch);
  }

  /** {@code $TMPDIR}: the scratch directory's {@code tmp}, which is also its private /tmp. */
  public Optional<Path> tmpdir() {
    return workdir().map(ScratchDirectory::tmp);
  }

  /** Environment the sandbox adds: {@code HOST} (its address) with network isolation. */
  public Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    if (network != null) {
      env.put("HOST", network.workerAddress().getHostAddress());
    }
    return env;
  }

  /** The leased UID, if any. */
  public OptionalInt uid() {
    return uid;
  }

  /**
   * The memory its cgroup charges right now ({@code memory.current}, or {@code
   * memory.usage_in_bytes} in cgroup v1); empty without a memory cgroup, or once released.
   */
  public OptionalLong memoryCurrent() {
    return cgroup == null || released.get() ? OptionalLong.empty() : cgroup.memoryCurrent();
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
    return Optional.of(OOM_KILLED + " (over the " + memoryBytes + "-byte sandbox.memory limit,"
        + " killed by the kernel)");
  }

  /**
   * {@link #release()} on the sandbox's teardown thread, so that the caller (the thread that
   * reports the worker's exit) does not wait for it: call once the worker's process has exited.
   * The factory's close waits for the releases queued; {@link #released()} completes with each.
   */
  public void releaseInBackground() {
    if (teardown == null || released.get()) {
      release();
    } else {
      teardown.submit(this::release);
    }
  }

  /** Completes once {@link #release()} has run: everything that could be removed is gone. */
  public CompletableFuture<Void> released() {
    return releaseDone;
  }

  /**
   * Removes the cgroup, the network and the scratch directory and releases the UID; call once
   * the worker's process has exited. Idempotent; logs what could not be removed.
   */
  public void release() {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    try {
      releaseParts();
    } finally {
      releaseDone.complete(null);
    }
  }

  private void releaseParts() {
    List<String> left = new ArrayList<>();
    if (cgroup != null) {
      cgroup.destroy().forEach(dir -> left.add("cgroup " + dir));
    }
    if (network != null) {
      left.addAll(network.destroy());
    }
    if (scratch != null && !ScratchDirectory.delete(scratch)) {
      left.add("scratch directory " + scratch);
    }
    // The UID last: nothing of the worker runs or owns a file any more.
    uid.ifPresent(u -> UidLeases.shared().release(u));
    if (!left.isEmpty()) {
      log.warn("worker sandbox not fully removed: {}", left);
    }
  }

  @Override
  public String toString() {
    return "WorkerSandbox{scratch=" + scratch + ", cgroup=" + cgroup + ", uid=" + uid
        + ", network=" + network
        + ", namespaces=" + namespaces + "}";
  }

  /** Collects the parts while {@link Sandbox#prepare} creates them; not thread-safe. */
  static final class Builder {
    private final boolean namespaces;
    private WorkerCgroup cgroup;
    private OptionalInt uid = OptionalInt.empty();
    private Path scratch;
    private WorkerNetwork network;
    private long memoryBytes;
    private final SandboxTeardown teardown;

    /**
     * @param teardown where {@link #releaseInBackground()} runs; null for the caller's thread
     */
    Builder(boolean namespaces, SandboxTeardown teardown) {
      this.namespaces = namespaces;
      this.teardown = teardown;
    }

    void cgroup(WorkerCgroup cgroup, long memoryBytes) {
      this.cgroup = cgroup;
      this.memoryBytes = memoryBytes;
    }

    void uid(int uid) {
      this.uid = OptionalInt.of(uid);
    }

    void scratch(Path scratch) {
      this.scratch = scratch;
    }

    void network(WorkerNetwork network) {
      this.network = network;
    }

    WorkerSandbox build() {
      return new WorkerSandbox(this);
    }
  }
}
