package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Everything a fully sandboxed pool creates is gone once it has shut down. */
class SandboxCleanupTest {

  @Test
  void afterShutdownNoCgroupUidNamespaceOrWorkdirRemains() throws Exception {
    SandboxFixture.assumeNetworkHost();
    SandboxConfig everything = SandboxConfig.builder().memory("256m").cpus(1).pids(128)
        .uid(UidMode.ISOLATED).network(NetworkMode.ISOLATED).required(true).build();
    List<Path> paths = new ArrayList<>();
    List<String> namespaces = new ArrayList<>();
    List<Integer> uids = new ArrayList<>();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(everything, TestWorkerCommand.argv("--bind", "0.0.0.0"));
      try (SessionPool pool = SessionPool.create(PoolConfig.builder().name("cleanup").min(0)
          .max(2).warm(0).acquireTimeout(Duration.ofSeconds(30)).build(), factory)) {
        for (String key : List.of("a", "b")) {
          try (SessionLease lease = pool.acquire(key, Duration.ofSeconds(30))) {
            ProcessWorker worker = (ProcessWorker) lease.worker();
            System.out.printf("fully sandboxed cold start of %s: %d ms%n", key,
                lease.waited().toMillis());
            assertThat(get(worker, "/pid")).as("PID 1 is the launcher's init").isEqualTo("2");
            paths.addAll(worker.sandbox().cgroupDirs());
            paths.add(worker.sandbox().workdir().orElseThrow());
            namespaces.add(worker.sandbox().networkNamespace().orElseThrow());
            uids.add(worker.sandbox().uid().orElseThrow());
          }
        }
        assertThat(paths).allMatch(Files::isDirectory);
        // the workers' UIDs, and up to WorkerUids.SPARES leased ahead
        assertThat(UidLeases.shared().leased()).containsAll(uids)
            .hasSizeLessThanOrEqualTo(uids.size() + WorkerUids.SPARES);
      }
      factory.close();

      assertThat(paths).noneMatch(Files::exists);
      assertThat(namespaces).noneMatch(n -> Files.exists(Path.of("/run/netns", n)));
      assertThat(SandboxFixture.leftoverCgroups()).isEmpty();
      assertThat(SandboxFixture.leftoverNetworks()).isEmpty();
      assertThat(UidLeases.shared().leased()).isEmpty();
      assertThat(SubnetLeases.shared().leasedCount(everything.networkRangeParsed())).isZero();
    }
  }
}
