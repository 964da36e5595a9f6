package io.herd.core.local;

import io.herd.core.PoolConfig;
import io.herd.core.SessionPool;
import io.herd.core.WorkerInfo;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;

/**
 * A JVM that runs a pool of {@code min} workers, prints {@code pid <n>} for each once they are up,
 * then {@code ready}, and waits to be killed. Run by {@link OrphanedWorkersTest} as a child process.
 */
public final class PoolHostMain {

  private PoolHostMain() {}

  public static void main(String[] args) throws Exception {
    int workers = Integer.parseInt(args[0]);
    ProcessWorkerFactory factory =
        new ProcessWorkerFactory(
            ProcessWorkerConfig.builder()
                .command(TestWorkerCommand.argv())
                .healthPath("/health")
                .startTimeout(Duration.ofSeconds(30))
                .sandbox(SandboxConfig.none())
                .build());
    SessionPool pool =
        SessionPool.create(PoolConfig.builder().min(workers).max(workers).warm(0).build(), factory);
    // Some sessions too, so that busy workers are covered as well as idle ones.
    for (int i = 0; i < workers / 2; i++) {
      pool.acquire("s" + i, Duration.ofSeconds(30)).close();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (pool.workers().size() < workers && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    for (WorkerInfo w : pool.workers()) {
      System.out.println("pid " + w.pid().orElseThrow());
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
