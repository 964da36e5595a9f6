package io.herd.core.sandbox;

import io.herd.core.sandbox.CgroupLayout.Controller;
import io.herd.core.sandbox.CgroupLayout.Hierarchy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The cgroup (one directory per hierarchy involved) of one worker: created with its limits before
 * the worker starts (usually ahead of demand, as one of {@link WorkerCgroups}' spares), joined by
 * the worker's launcher before the worker's own code runs, asked after the exit whether the OOM
 * killer struck, and removed once the worker is gone.
 *
 * <p>Lifetime: {@link #create} to {@link #destroy()}. Thread-safe in the way it is used: created on
 * the spawning thread, destroyed once, after the exit, on the exit-handling thread.
 */
final class WorkerCgroup {

  private static final int REMOVE_ATTEMPTS = 100;
  private static final long REMOVE_PAUSE_MILLIS = 10;

  /** The directory per hierarchy, in creation order; several controllers may share one. */
  private final Map<Path, CgroupVersion> dirs;
  private final Map<Controller, Path> byController;
  /** The limits written: memory bytes, CPUs, pids, as the config gave them. */
  private final long memoryBytes;
  private final double cpus;
  private final int pids;
  /** The directories this instance made, the only ones it may remove. */
  private final List<Path> created = new java.util.concurrent.CopyOnWriteArrayList<>();

  private WorkerCgroup(Map<Path, CgroupVersion> dirs, Map<Controller, Path> byController,
      SandboxConfig limits) {
    this.dirs = dirs;
    this.byController = byController;
    this.memoryBytes = limits.memoryBytes();
    this.cpus = limits.cpus();
    this.pids = limits.pids();
  }

  /**
   * Creates cgroup {@code name} in every hierarchy that a set limit needs and writes the limits.
   * On failure, removes what it created.
   *
   * @throws IOException naming the file that could not be created or written
   */
  static WorkerCgroup create(CgroupLayout layout, String name, SandboxConfig config)
      throws IOException {
    Map<Path, CgroupVersion> dirs = new LinkedHashMap<>();
    Map<Controller, Path> byController = new EnumMap<>(Controller.class);
    for (Controller c : Controller.values()) {
      if (!wanted(c, config)) {
        continue;
      }
      Hierarchy h = layout.hierarchy(c).orElse(null);
      if (h != null) {
        Path dir = h.parent().resolve(name);
        dirs.putIfAbsent(dir, h.version());
        byController.put(c, dir);
      }
    }
    WorkerCgroup cgroup = new WorkerCgroup(dirs, byController, config);
    try {
      for (Map.Entry<Path, CgroupVersion> e : dirs.entrySet()) {
        Path dir = e.getKey();
        Files.createDirectories(dir.getParent());
        if (e.getValue() == CgroupVersion.V2) {
          enableControllers(dir.getParent(), byController, dir);
        }
        Files.createDirectory(dir);
        cgroup.created.add(dir);
      }
      for (Map.Entry<Controller, Path> e : byController.entrySet()) {
        Path dir = e.getValue();
        CgroupVersion version = dirs.get(dir);
        switch (e.getKey()) {
          case MEMORY -> version.writeMemory(dir, config.memoryBytes());
          case CPU -> version.writeCpu(dir, config.cpus());
          case PIDS -> version.writePids(dir, config.pids());
          default -> throw new AssertionError(e.getKey());
        }
      }
    } catch (IOException | RuntimeException e) {
      cgroup.destroy();
      throw e;
    }
    return cgroup;
  }

  /**
   * For v2: a child gets a controller only when its parent lists it in {@code
   * cgroup.subtree_control}; adds the missing ones.
   */
  private static void enableControllers(Path parent, Map<Controller, Path> byController, Path dir)
      throws IOException {
    Path subtree = parent.resolve("cgroup.subtree_control");
    String enabled = Files.exists(subtree)
        ? Files.readString(subtree, StandardCharsets.US_ASCII) : "";
    List<String> wanted = new ArrayList<>();
    byController.forEach((c, d) -> {
      if (d.equals(dir) && !List.of(enabled.trim().split("\\s+")).contains(c.kernelName)) {
        wanted.add("+" + c.kernelName);
      }
    });
    if (!wanted.isEmpty()) {
      CgroupVersion.write(parent, "cgroup.subtree_control", String.join(" ", wanted));
    }
  }

  private static boolean wanted(Controller c, SandboxConfig config) {
    return switch (c) {
      case MEMORY -> config.memoryBytes() > 0;
      case CPU -> config.cpus() > 0;
      case PIDS -> config.pids() > 0;
    };
  }

  /** Whether this cgroup was created with the memory, CPU and process limits of {@code config}. */
  boolean hasLimitsOf(SandboxConfig config) {
    return memoryBytes == config.memoryBytes() && Double.compare(cpus, config.cpus()) == 0
        && pids == config.pids();
  }

  /** The {@code cgroup.procs} files the launcher writes its pid to, one per hierarchy. */
  List<Path> procsFiles() {
    return dirs.keySet().stream().map(d -> d.resolve("cgroup.procs")).toList();
  }

  /** The directories, for reports and tests. */
  List<Path> dirs() {
    return List.copyOf(dirs.keySet());
  }

  /** The memory charged to the cgroup now; empty without a memory controller or once removed. */
  OptionalLong memoryCurrent() {
    Path dir = byController.get(Controller.MEMORY);
    if (dir == null) {
      return OptionalLong.empty();
    }
    String file = dirs.get(dir) == CgroupVersion.V2 ? "memory.current" : "memory.usage_in_bytes";
    try {
      return OptionalLong.of(Long.parseLong(Files.readString(dir.resolve(file)).trim()));
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty(); // removed meanwhile, or a kernel without the file
    }
  }

  /** Whether the kernel's OOM killer killed a process of this cgroup; read it before destroy. */
  boolean oomKilled() {
    Path dir = byController.get(Controller.MEMORY);
    if (dir == null) {
      return false;
    }
    try {
      return dirs.get(dir).oomKills(dir) > 0;
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  /**
   * SIGKILLs whatever still runs in the cgroup (leftovers of a worker without a PID namespace),
   * then removes the directories, retrying while the kernel finishes the kills.
   *
   * @return the directories that could not be removed, empty on success
   */
  List<Path> destroy() {
    List<Path> left = new ArrayList<>();
    for (Path dir : created) {
      if (!remove(dir)) {
        left.add(dir);
      }
    }
    return left;
  }

  private boolean remove(Path dir) {
    for (int attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      killAll(dir);
      try {
        Files.deleteIfExists(dir);
        created.remove(dir);
        return true;
      } catch (IOException e) {
        // EBUSY while tasks are still exiting: retry below
      }
      try {
        TimeUnit.MILLISECONDS.sleep(REMOVE_PAUSE_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !Files.exists(dir);
      }
    }
    return !Files.exists(dir);
  }

  private static void killAll(Path dir) {
    Path kill = dir.resolve("cgroup.kill");
    try {
      if (Files.exists(kill)) {
        CgroupVersion.write(dir, "cgroup.kill", "1");
        return;
      }
      for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
        if (!line.isBlank()) {
          ProcessHandle.of(Long.parseLong(line.trim())).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    } catch (NoSuchFileException e) {
      // gone already, or a fake tree
    } catch (IOException | NumberFormatException | IllegalStateException e) {
      // best effort: rmdir reports whether anything is left
    }
  }

  @Override
  public String toString() {
    return "WorkerCgroup" + dirs.keySet();
  }
}
