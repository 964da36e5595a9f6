package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes what the sandboxes of a dead gateway left behind. A gateway that is SIGKILLed takes its
 * workers with it (parent-death signal) but cannot remove their cgroups, network namespaces and
 * working directories; the next gateway on the host does, when it creates its sandbox.
 *
 * <p>Everything a sandbox creates is named {@code herd-<gateway pid>-...} (veth links {@code
 * hv<pid in base 36>-...}, host nftables tables {@code inet herd-<pid>-<n>}); only names whose
 * gateway pid runs no process are touched, and what still runs in such a cgroup is SIGKILLed
 * first (children of workers without a PID namespace survive their gateway) if it belongs to
 * this gateway's PID namespace. A pid reused since leaves its leftovers for a later sweep:
 * conservative on purpose. The dead
 * gateway's host-wide leases need no sweeping: the kernel dropped their locks, and a UID or /30
 * is leased again only once what its record names is gone ({@link LeaseDirectory}). Stateless
 * and thread-safe; best effort, logs what it removed.
 */
final class StaleSandboxSweep {

  private static final Logger log = LoggerFactory.getLogger(StaleSandboxSweep.class);
  private static final Pattern NAME = Pattern.compile("herd-(\\d+)-\\d+.*");
  private static final Pattern LINK = Pattern.compile("hv([0-9a-z]+)-[0-9a-z]+");
  private static final Pattern TABLE = Pattern.compile("table inet (herd-(\\d+)-\\d+)");
  private static final int REMOVE_ATTEMPTS = 20;
  private static final long REMOVE_PAUSE_MILLIS = 50;

  private StaleSandboxSweep() {}

  /**
   * Sweeps the given cgroup parents, the network namespaces and links (when {@code ip} is given),
   * the host nftables tables (when {@code nft} is given) and the work directory root.
   *
   * @return what was removed, for logs and tests
   */
  static List<String> sweep(List<Path> cgroupParents, Path ip, Path nft, Path workdirRoot) {
    List<String> removed = new ArrayList<>();
    for (Path parent : cgroupParents) {
      for (Path dir : stale(parent)) {
        if (Files.isDirectory(dir) && removeCgroup(dir)) {
          removed.add("cgroup " + dir);
        }
      }
    }
    if (ip != null) {
      for (Path ns : stale(Path.of("/run/netns"))) {
        try {
          HostCommand.run(List.of(ip.toString(), "netns", "del", ns.getFileName().toString()));
          removed.add("netns " + ns.getFileName());
        } catch (IOException e) {
          // removed meanwhile
        }
      }
      for (String link : staleLinks()) {
        try {
          HostCommand.run(List.of(ip.toString(), "link", "del", link));
          removed.add("link " + link);
        } catch (IOException e) {
          // gone with its namespace meanwhile
        }
      }
    }
    if (nft != null) {
      for (String table : staleTables(nft)) {
        try {
          HostCommand.run(List.of(nft.toString(), "delete table inet " + table));
          removed.add("nft table " + table);
        } catch (IOException e) {
          // removed meanwhile
        }
      }
    }
    if (workdirRoot != null) {
      for (Path dir : stale(workdirRoot)) {
        if (ScratchDirectory.delete(dir)) {
          removed.add("workdir " + dir);
        }
      }
    }
    if (!removed.isEmpty()) {
      log.info("removed what the sandboxes of gateways no longer running left behind: {}",
          removed);
    }
    return removed;
  }

  private static List<Path> stale(Path dir) {
    List<Path> found = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return found;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "herd-*")) {
      for (Path entry : entries) {
        Matcher m = NAME.matcher(entry.getFileName().toString());
        if (m.matches() && isGone(Long.parseLong(m.group(1)))) {
          found.add(entry);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // nothing to sweep there
    }
    return found;
  }

  private static List<String> staleLinks() {
    List<String> found = new ArrayList<>();
    try (DirectoryStream<Path> links =
        Files.newDirectoryStream(Path.of("/sys/class/net"), "hv*")) {
      for (Path link : links) {
        Matcher m = LINK.matcher(link.getFileName().toString());
        if (m.matches() && isGone(Long.parseLong(m.group(1), 36))) {
          found.add(link.getFileName().toString());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // nothing to sweep
    }
    return found;
  }

  private static List<String> staleTables(Path nft) {
    List<String> found = new ArrayList<>();
    try {
      for (String line : HostCommand.run(List.of(nft.toString(), "list tables")).split("\n")) {
        Matcher m = TABLE.matcher(line.trim());
        if (m.matches() && isGone(Long.parseLong(m.group(2)))) {
          found.add(m.group(1));
        }
      }
    } catch (IOException | NumberFormatException e) {
      // nothing to sweep
    }
    return found;
  }

  private static boolean isGone(long pid) {
    return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty();
  }

  /**
   * Removes a dead gateway's cgroup, first SIGKILLing what still runs in it: the parent-death
   * signal kills a worker, but without a PID namespace its children live on (a worker command
   * {@code sh -c "python3 app.py"} leaves the Python program), and they would keep the cgroup,
   * the worker's UID lease and its port forever. Only processes of this gateway's PID namespace
   * are killed: one in another (a container's gateway whose pid numbers mean something else
   * here) keeps its cgroup, which then stays, busy, for a later sweep.
   */
  private static boolean removeCgroup(Path dir) {
    for (int attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      if (!killLeftovers(dir)) {
        return false; // a process of another PID namespace: not ours to kill
      }
      try {
        Files.delete(dir);
        return true;
      } catch (IOException e) {
        // EBUSY while the killed processes exit, or not ours to remove
      }
      try {
        TimeUnit.MILLISECONDS.sleep(REMOVE_PAUSE_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /** SIGKILLs the cgroup's processes; false when one belongs to another PID namespace. */
  private static boolean killLeftovers(Path dir) {
    try {
      Path ownNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid"));
      for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
        if (line.isBlank()) {
          continue;
        }
        long pid = Long.parseLong(line.trim());
        Path namespace = pidNamespace(pid);
        if (namespace != null && !namespace.equals(ownNamespace)) {
          return false;
        }
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    } catch (IOException | NumberFormatException | UnsupportedOperationException e) {
      // best effort: the delete says whether anything is left
    }
    return true;
  }

  private static Path pidNamespace(long pid) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "pid"));
    } catch (IOException e) {
      return null; // gone, or not ours to inspect
    }
  }
}
