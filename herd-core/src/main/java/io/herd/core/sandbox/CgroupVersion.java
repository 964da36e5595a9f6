package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The two cgroup interfaces and how each spells the limits Herd sets. A machine may mix them: a
 * hybrid host has the unified (v2) hierarchy mounted with few or no controllers and the memory,
 * cpu and pids controllers on v1 hierarchies, so the choice is made per controller (see {@link
 * CgroupLayout}). Stateless and thread-safe.
 */
enum CgroupVersion {

  /** One hierarchy per controller (or group of controllers), {@code memory.limit_in_bytes}. */
  V1 {
    @Override
    void writeMemory(Path dir, long bytes) throws IOException {
      write(dir, "memory.limit_in_bytes", Long.toString(bytes));
      // No swap: memsw (memory + swap) equal to the memory limit. Absent without swap accounting,
      // in which case there is nothing to limit.
      writeIfPresent(dir, "memory.memsw.limit_in_bytes", Long.toString(bytes));
    }

    @Override
    void writeCpu(Path dir, double cpus) throws IOException {
      write(dir, "cpu.cfs_period_us", Long.toString(CPU_PERIOD_MICROS));
      write(dir, "cpu.cfs_quota_us", Long.toString(quotaMicros(cpus)));
    }

    @Override
    long oomKills(Path dir) throws IOException {
      return counter(dir.resolve("memory.oom_control"), "oom_kill");
    }
  },

  /** The unified hierarchy: {@code memory.max}, {@code cpu.max}, {@code memory.events}. */
  V2 {
    @Override
    void writeMemory(Path dir, long bytes) throws IOException {
      write(dir, "memory.max", Long.toString(bytes));
      writeIfPresent(dir, "memory.swap.max", "0");
      // Kill the whole cgroup on OOM, not one process of it: a half-killed worker is worse.
      writeIfPresent(dir, "memory.oom.group", "1");
    }

    @Override
    void writeCpu(Path dir, double cpus) throws IOException {
      write(dir, "cpu.max", quotaMicros(cpus) + " " + CPU_PERIOD_MICROS);
    }

    @Override
    long oomKills(Path dir) throws IOException {
      return counter(dir.resolve("memory.events"), "oom_kill");
    }
  };

  /** CFS period: 100 ms, the kernel's default, so a quota is enforced within 100 ms windows. */
  static final long CPU_PERIOD_MICROS = 100_000;

  abstract void writeMemory(Path dir, long bytes) throws IOException;

  abstract void writeCpu(Path dir, double cpus) throws IOException;

  /** How many processes the OOM killer killed in the cgroup at {@code dir}. */
  abstract long oomKills(Path dir) throws IOException;

  /** {@code pids.max}, spelled the same in both versions. */
  void writePids(Path dir, int pids) throws IOException {
    write(dir, "pids.max", Integer.toString(pids));
  }

  static long quotaMicros(double cpus) {
    return Math.max(1000, Math.round(cpus * CPU_PERIOD_MICROS));
  }

  /**
   * Writes a control file. {@code CREATE} matters only for fake trees in tests: in cgroupfs the
   * kernel provides the files, and a missing one fails as it should.
   */
  static void write(Path dir, String file, String value) throws IOException {
    try {
      Files.writeString(dir.resolve(file), value, StandardCharsets.US_ASCII,
          StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new IOException("cannot write " + value + " to " + dir.resolve(file) + ": " + e, e);
    }
  }

  private static void writeIfPresent(Path dir, String file, String value) throws IOException {
    if (Files.exists(dir.resolve(file))) {
      write(dir, file, value);
    }
  }

  /** The value of {@code key} in a flat-keyed file ({@code key value} per line); 0 if absent. */
  static long counter(Path file, String key) throws IOException {
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
        String[] parts = line.trim().split("\\s+");
        if (parts.length == 2 && parts[0].equals(key)) {
          return Long.parseLong(parts[1]);
        }
      }
      return 0;
    } catch (NoSuchFileException e) {
      return 0;
    }
  }
}
