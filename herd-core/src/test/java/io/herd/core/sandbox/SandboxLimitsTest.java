package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cgroup limits and the PID namespace, on real worker processes: needs root and a host that
 * allows them (skipped otherwise, with the reason). Each test proves on close that no process,
 * cgroup or leased UID is left behind.
 */
class SandboxLimitsTest {

  private static final long MIB = 1 << 20;

  @BeforeEach
  void needsRoot() {
    SandboxFixture.assumeSandboxHost();
  }

  @Test
  void workerPastItsMemoryLimitIsOomKilledAndOnlyItsSessionEnds() throws Exception {
    SandboxConfig sandbox = SandboxConfig.builder().memory("128m").cpus(0).pids(0).build();
    CompletableFuture<WorkerExit> crash = new CompletableFuture<>();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(sandbox, TestWorkerCommand.argv());
      SessionPool pool = SessionPool.create(PoolConfig.builder().name("oom").min(0).max(2)
          .warm(0).acquireTimeout(Duration.ofSeconds(30)).build(), factory);
      try (pool) {
        pool.addListener(new PoolListener() {
          @Override
          public void workerCrashed(Worker worker, WorkerExit exit) {
            crash.complete(exit);
          }
        });
        SessionLease victim = pool.acquire("victim", Duration.ofSeconds(30));
        SessionLease bystander = pool.acquire("bystander", Duration.ofSeconds(30));
        long started = System.nanoTime();

        Throwable broken = catchThrowable(() -> get(victim.worker(), "/alloc?mb=512"));

        WorkerExit exit = crash.get(20, TimeUnit.SECONDS);
        long killedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.printf("OOM: 512 MiB against a 128 MiB limit, killed and reported after %d ms:"
            + " %s%n", killedMillis, exit);
        assertThat(broken).as("the allocating request cannot complete").isNotNull();
        assertThat(exit.oomKilled()).as("crash reason %s", exit).isTrue();
        assertThat(exit.detail()).startsWith(WorkerExit.OOM_KILLED);
        assertThat(exit.requested()).isFalse();
        assertThat(get(bystander.worker(), "/count")).isEqualTo("1");
        victim.close();
        bystander.close();
      }
    }
  }

  @Test
  void forkBombStopsAtThePidLimitAndLeavesOtherWorkersAlone() throws Exception {
    SandboxConfig limited = SandboxConfig.builder().pids(48).memory(0).cpus(0).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker bomb = fixture.spawn(
          fixture.factory(limited, TestWorkerCommand.argv()), "bomb");
      ProcessWorker other = fixture.spawn(
          fixture.factory(limited, TestWorkerCommand.argv()), "other");
      Path pidsDir = bomb.sandbox().cgroupDirs().stream()
          .filter(d -> d.startsWith("/sys/fs/cgroup/pids") || Files.exists(d.resolve("pids.max")))
          .findFirst().orElseThrow();

      int started = Integer.parseInt(get(bomb, "/fork?n=200"));

      long peak = Long.parseLong(Files.readString(pidsDir.resolve("pids.current")).trim());
      System.out.printf("fork bomb: %d of 200 children started under pids.max=48 (pids.current"
          + " %d)%n", started, peak);
      assertThat(started).as("children started").isBetween(1, 47);
      assertThat(peak).isLessThanOrEqualTo(48);
      assertThat(get(other, "/health")).isEqualTo("ok");
      assertThat(new ProcessBuilder("true").start().waitFor(5, TimeUnit.SECONDS))
          .as("the host can still fork").isTrue();
    }
  }

  @Test
  void memoryBytesReadsTheWorkersCgroupAndGrowsWithWhatItAllocates() throws Exception {
    SandboxConfig limited = SandboxConfig.builder().memory("256m").cpus(0).pids(0).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(fixture.factory(limited, TestWorkerCommand.argv()),
          "mem");
      long before = worker.memoryBytes().orElseThrow();
      assertThat(before).as("a running JVM is charged something").isPositive()
          .isLessThan(256L << 20);

      get(worker, "/alloc?mb=64");

      assertThat(worker.memoryBytes().orElseThrow()).as("after allocating 64 MiB")
          .isGreaterThan(before + (32L << 20));
      worker.stop().get(20, TimeUnit.SECONDS);
      assertThat(worker.memoryBytes()).as("no cgroup once it has gone").isEmpty();
    }
  }

  @Test
  void cpuQuotaHoldsABusyLoopToItsShare() throws Exception {
    SandboxConfig half = SandboxConfig.builder().cpus(0.5).memory(0).pids(0).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(fixture.factory(half, TestWorkerCommand.argv()), "cpu");
      get(worker, "/burn?ms=200"); // warm up the endpoint

      long cpuMillis = Long.parseLong(get(worker, "/burn?ms=1000").trim());

      Path cpuDir = worker.sandbox().cgroupDirs().stream()
          .filter(d -> Files.exists(d.resolve("cpu.stat"))).findFirst().orElseThrow();
      long throttled = CgroupVersion.counter(cpuDir.resolve("cpu.stat"), "nr_throttled");
      System.out.printf("CPU quota 0.5: a 1000 ms busy loop got %d ms of CPU, throttled %d"
          + " times%n", cpuMillis, throttled);
      // At most half a core plus one 100 ms period of slack. The lower bound only proves that the
      // loop ran: other builds share this machine's cores. A loop that came near its share must
      // have hit the quota; one starved by the host may not have.
      assertThat(cpuMillis).as("CPU ms in 1000 ms wall at 0.5 cores").isBetween(100L, 600L);
      if (cpuMillis >= 450) {
        assertThat(throttled).as("times the quota ran out").isPositive();
      }
    }
  }

  @Test
  void workerRunsBelowTheLaunchersInitInItsOwnPidNamespace() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv()), "pid1");

      assertThat(get(worker, "/pid")).as("the worker is not PID 1").isEqualTo("2");
      // Forked by the factory's process supervisor without another exec, the launcher and its
      // init keep the supervisor's command line, herd-launch --serve <jvm pid>.
      assertThat(get(worker, "/pid1")).as("PID 1 is the launcher's init").contains("herd-launch");
      List<ProcessHandle> children = ProcessHandle.of(worker.pid().getAsLong()).orElseThrow()
          .children().toList();
      assertThat(children).as("the launcher's one child, the namespace's init").hasSize(1);
      String status = Files.readString(Path.of("/proc", children.get(0).pid() + "", "status"));
      assertThat(status).containsPattern("NSpid:\\s+" + children.get(0).pid() + "\\s+1\\b");
    }
  }

  @Test
  void stopSendsSigtermThroughUnshareSoTheWorkerExitsGracefully() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv()), "graceful");
      long started = System.nanoTime();

      WorkerExit exit = worker.stop().get(10, TimeUnit.SECONDS);

      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(exit.detail()).as("no SIGKILL after the grace period").doesNotContain("SIGKILL");
      assertThat(millis).as("stop took %d ms", millis).isLessThan(4000);
      assertThat(exit.exitCode()).hasValue(143);
    }
  }

  @Test
  void killingTheWorkerKillsEverythingInItsNamespaceAndRemovesItsCgroup() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorker worker = fixture.spawn(
          fixture.factory(SandboxConfig.defaults(), TestWorkerCommand.argv()), "tree");
      get(worker, "/spawn-child");
      List<Long> tree = ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().descendants()
          .map(ProcessHandle::pid).toList();
      List<Path> cgroups = worker.sandbox().cgroupDirs();
      assertThat(cgroups).isNotEmpty().allMatch(Files::isDirectory);
      assertThat(tree).hasSizeGreaterThanOrEqualTo(2);

      ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().destroyForcibly();
      WorkerExit exit = worker.onExit().get(10, TimeUnit.SECONDS);

      assertThat(exit.requested()).isFalse();
      assertThat(tree).allMatch(pid -> io.herd.testkit.Processes.awaitGone(pid,
          Duration.ofSeconds(5)));
      worker.sandbox().released().get(30, TimeUnit.SECONDS); // torn down after the exit
      assertThat(cgroups).noneMatch(Files::exists);
    }
  }
}
