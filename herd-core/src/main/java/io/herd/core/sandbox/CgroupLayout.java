package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where each controller Herd needs (memory, cpu, pids) lives on this machine, found from the
 * kernel's own account of it: {@code /proc/self/mountinfo} (which file systems of type {@code
 * cgroup2} and {@code cgroup} are mounted where, and with which controllers) and {@code
 * /proc/self/cgroup} (which cgroup this JVM is in). Nothing is guessed from the path {@code
 * /sys/fs/cgroup}: on a hybrid host it is a tmpfs holding v1 hierarchies, and treating it as the
 * unified hierarchy (as Go Herd does) writes plain files that limit nothing.
 *
 * <p>Per controller: the unified hierarchy when its parent cgroup offers the controller in {@code
 * cgroup.controllers}, else the v1 hierarchy mounted with it, else none. Worker cgroups are
 * created under {@code sandbox.cgroupParent}, or under the JVM's own cgroup.
 *
 * <p>Immutable and thread-safe once built; {@link #detect} reads the files once.
 */
final class CgroupLayout {

  /** The controllers a sandbox uses. */
  enum Controller {
    MEMORY("memory"), CPU("cpu"), PIDS("pids");

    final String kernelName;

    Controller(String kernelName) {
      this.kernelName = kernelName;
    }
  }

  /**
   * One place to create worker cgroups in.
   *
   * @param version how its files are spelled
   * @param parent the directory under which worker cgroups are created
   */
  record Hierarchy(CgroupVersion version, Path parent) {}

  private final Map<Controller, Hierarchy> hierarchies;
  private final Map<Controller, String> missing;

  private CgroupLayout(Map<Controller, Hierarchy> hierarchies, Map<Controller, String> missing) {
    this.hierarchies = hierarchies;
    this.missing = missing;
  }

  /** This machine's layout, from {@code /proc/self}. */
  static CgroupLayout detect(Optional<String> cgroupParent) {
    try {
      return parse(Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8),
          Files.readString(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8), cgroupParent);
    } catch (IOException e) {
      Map<Controller, String> why = new EnumMap<>(Controller.class);
      for (Controller c : Controller.values()) {
        why.put(c, "cannot read /proc/self/mountinfo or /proc/self/cgroup: " + e.getMessage());
      }
      return new CgroupLayout(Map.of(), why);
    }
  }

  /**
   * The layout described by the given {@code mountinfo} and {@code cgroup} texts; package-private
   * for tests, which point a {@code cgroup2} mount at a temporary directory.
   */
  static CgroupLayout parse(String mountinfo, String selfCgroup, Optional<String> cgroupParent) {
    Map<String, String> ownPaths = new HashMap<>(); // "" for v2, else each v1 controller
    for (String line : selfCgroup.split("\n")) {
      String[] parts = line.split(":", 3);
      if (parts.length == 3) {
        if (parts[0].equals("0") && parts[1].isEmpty()) {
          ownPaths.put("", parts[2]);
        } else {
          for (String controller : parts[1].split(",")) {
            ownPaths.put(controller, parts[2]);
          }
        }
      }
    }
    Map<Controller, Hierarchy> found = new EnumMap<>(Controller.class);
    Map<Controller, String> missing = new EnumMap<>(Controller.class);
    Mount unified = null;
    Map<String, Mount> v1 = new HashMap<>();
    for (String line : mountinfo.split("\n")) {
      Mount mount = Mount.parse(line);
      if (mount == null) {
        continue;
      }
      if (mount.type.equals("cgroup2") && unified == null) {
        unified = mount;
      } else if (mount.type.equals("cgroup")) {
        for (String option : mount.superOptions) {
          v1.putIfAbsent(option, mount);
        }
      }
    }
    Set<String> unifiedControllers = Set.of();
    Path unifiedParent = null;
    if (unified != null && ownPaths.containsKey("")) {
      unifiedParent = unified.dirOf(cgroupParent.orElse(ownPaths.get("")));
      unifiedControllers = readControllers(unifiedParent);
    }
    for (Controller c : Controller.values()) {
      Mount legacy = v1.get(c.kernelName);
      if (unifiedParent != null && unifiedControllers.contains(c.kernelName)) {
        found.put(c, new Hierarchy(CgroupVersion.V2, unifiedParent));
      } else if (legacy != null && ownPaths.containsKey(c.kernelName)) {
        found.put(c, new Hierarchy(CgroupVersion.V1,
            legacy.dirOf(cgroupParent.orElse(ownPaths.get(c.kernelName)))));
      } else {
        missing.put(c, "no cgroup hierarchy offers the " + c.kernelName + " controller"
            + (unified != null ? " (the unified hierarchy at " + unified.mountPoint
                + " offers " + (unifiedControllers.isEmpty() ? "none" : unifiedControllers) + ")"
                : ""));
      }
    }
    return new CgroupLayout(found, missing);
  }

  /** Where {@code controller} lives, if anywhere. */
  Optional<Hierarchy> hierarchy(Controller controller) {
    return Optional.ofNullable(hierarchies.get(controller));
  }

  /** Why {@code controller} is not available, if it is not. */
  Optional<String> whyMissing(Controller controller) {
    return Optional.ofNullable(missing.get(controller));
  }

  private static Set<String> readControllers(Path dir) {
    try {
      return Arrays.stream(
              Files.readString(dir.resolve("cgroup.controllers"), StandardCharsets.US_ASCII)
                  .trim().split("\\s+"))
          .filter(s -> !s.isEmpty())
          .collect(Collectors.toUnmodifiableSet());
    } catch (IOException e) {
      return Set.of();
    }
  }

  @Override
  public String toString() {
    return "CgroupLayout" + hierarchies
        + (missing.isEmpty() ? "" : ", missing " + missing.keySet());
  }

  /** One line of mountinfo: {@code id parent dev root mountpoint opts [tags] - type src super}. */
  private record Mount(String root, Path mountPoint, String type, List<String> superOptions) {

    static Mount parse(String line) {
      String[] fields = line.trim().split(" ");
      int dash = Arrays.asList(fields).indexOf("-");
      if (fields.length < 5 || dash < 0 || dash + 3 >= fields.length) {
        return null;
      }
      return new Mount(unescape(fields[3]), Path.of(unescape(fields[4])), fields[dash + 1],
          List.of(fields[dash + 3].split(",")));
    }

    /**
     * The directory of cgroup {@code path} (as in /proc/self/cgroup) under this mount, which may
     * show only a subtree of its hierarchy (its {@code root}), as in containers.
     */
    Path dirOf(String path) {
      String relative = path;
      if (!root.equals("/") && (path.equals(root) || path.startsWith(root + "/"))) {
        relative = path.substring(root.length());
      }
      relative = relative.replaceFirst("^/+", "");
      return relative.isEmpty() ? mountPoint : mountPoint.resolve(relative);
    }

    /** mountinfo escapes space, tab, newline and backslash as octal {@code \NNN}. */
    private static String unescape(String text) {
      StringBuilder out = new StringBuilder(text.length());
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\\' && i + 3 < text.length() && text.substring(i + 1, i + 4)
            .chars().allMatch(d -> d >= '0' && d <= '7')) {
          out.append((char) Integer.parseInt(text.substring(i + 1, i + 4), 8));
          i += 3;
        } else {
          out.append(c);
        }
      }
      return out.toString();
    }
  }
}
