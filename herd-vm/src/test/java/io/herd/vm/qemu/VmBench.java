package io.herd.vm.qemu;

import io.herd.core.InMemorySessionDirectory;
import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.local.LocalSessionPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The microVM figures of {@code docs/benchmarks.md}, run by {@code bench/vm.sh}: cold boot, clone
 * and resume, each from the spawn (or resume) call to the first HTTP 200 of the app, sequential,
 * median and p90 over {@code N}; a new key's first response from a pool with one warm spare; then RSS of {@code CLONES} idle clones alive at once.
 *
 * <p>Arguments: {@code N} (default 10), {@code CLONES} (default 20). Uses the test fixtures'
 * boot image; every VM and file it made is gone when it returns.
 */
public final class VmBench {

  private VmBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int clones = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    try (VmTestSupport vms = new VmTestSupport()) {
      VmWorkerFactory cold = vms.factory(vms.vmConfig().snapshots(false).build());
      List<Long> coldMs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long start = System.nanoTime();
        Worker w = cold.spawn("cold-" + i).get(120, TimeUnit.SECONDS);
        VmTestSupport.get(w, "/health");
        coldMs.add(millisSince(start));
        w.kill().get(30, TimeUnit.SECONDS);
      }
      report("cold boot -> first 200", coldMs);

      VmWorkerFactory snap = vms.factory(vms.vmConfig().build());
      long templateStart = System.nanoTime();
      Worker first = snap.spawn("first").get(180, TimeUnit.SECONDS);
      System.out.printf("template boot + snapshot + first clone: %d ms%n",
          millisSince(templateStart));
      first.kill().get(30, TimeUnit.SECONDS);
      List<Long> cloneMs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long start = System.nanoTime();
        Worker w = snap.spawn("clone-" + i).get(120, TimeUnit.SECONDS);
        VmTestSupport.get(w, "/health");
        cloneMs.add(millisSince(start));
        w.kill().get(30, TimeUnit.SECONDS);
      }
      report("clone -> first 200", cloneMs);

      List<Long> resumeMs = new ArrayList<>();
      List<Long> stateKiB = new ArrayList<>();
      List<Long> suspendMs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Worker w = snap.spawn("sus-" + i).get(120, TimeUnit.SECONDS);
        VmTestSupport.count(w);
        long s0 = System.nanoTime();
        SuspendedWorker state = snap.suspend(w).get(120, TimeUnit.SECONDS);
        suspendMs.add(millisSince(s0));
        stateKiB.add(state.sizeBytes() >> 10);
        long start = System.nanoTime();
        Worker r = snap.resume(state, "res-" + i).get(120, TimeUnit.SECONDS);
        VmTestSupport.count(r);
        resumeMs.add(millisSince(start));
        r.kill().get(30, TimeUnit.SECONDS);
      }
      report("suspend (save + exit)", suspendMs);
      report("resume -> first 200", resumeMs);
      report("suspended state size (KiB)", stateKiB);

      // A pool with one warm spare: a new key takes a clone that is already running, so its
      // first response costs one request; the spare is replaced in the background.
      PoolConfig warm = PoolConfig.builder().name("bench").min(0).warm(1).max(4).build();
      List<Long> warmMs = new ArrayList<>();
      try (LocalSessionPool pool = new LocalSessionPool(warm, snap,
          new InMemorySessionDirectory())) {
        for (int i = 0; i < n; i++) {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
          while (pool.stats().idle() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
          }
          long start = System.nanoTime();
          try (SessionLease lease = pool.acquire("key-" + i).get(120, TimeUnit.SECONDS)) {
            VmTestSupport.count(lease.worker());
            warmMs.add(millisSince(start));
          }
          pool.end("key-" + i);
        }
      }
      report("new key, warm: 1 -> first 200", warmMs);

      List<Worker> alive = new ArrayList<>();
      try {
        for (int i = 0; i < clones; i++) {
          alive.add(snap.spawn("idle-" + i).get(120, TimeUnit.SECONDS));
        }
        for (Worker w : alive) {
          VmTestSupport.get(w, "/health");
        }
        Thread.sleep(2000);
        List<Long> rssMiB = new ArrayList<>();
        List<Long> pssMiB = new ArrayList<>();
        for (Worker w : alive) {
          long pid = VmTestSupport.qemu(w).pid();
          rssMiB.add(statusKiB(pid, "VmRSS:") >> 10);
          pssMiB.add(rollupKiB(pid, "Pss:") >> 10);
        }
        System.out.printf("%d idle clones alive at once, all answering%n", alive.size());
        report("RSS per idle clone (MiB)", rssMiB);
        report("PSS per idle clone (MiB)", pssMiB);
      } finally {
        for (Worker w : alive) {
          w.kill().get(30, TimeUnit.SECONDS);
        }
      }
    }
  }

  private static long millisSince(long start) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  private static void report(String what, List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    long median = sorted.get((sorted.size() - 1) / 2);
    long p90 = sorted.get((int) Math.ceil(sorted.size() * 0.9) - 1);
    System.out.printf("%-32s median %6d  p90 %6d  min %6d  max %6d  (n=%d)%n", what, median, p90,
        sorted.get(0), sorted.get(sorted.size() - 1), sorted.size());
  }

  private static long statusKiB(long pid, String field) throws Exception {
    return fieldKiB(Path.of("/proc", Long.toString(pid), "status"), field);
  }

  private static long rollupKiB(long pid, String field) throws Exception {
    return fieldKiB(Path.of("/proc", Long.toString(pid), "smaps_rollup"), field);
  }

  private static long fieldKiB(Path file, String field) throws Exception {
    for (String line : Files.readAllLines(file)) {
      if (line.startsWith(field)) {
        return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
      }
    }
    return -1;
  }
}
