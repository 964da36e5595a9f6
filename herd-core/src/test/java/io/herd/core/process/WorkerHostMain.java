package io.herd.core.process;

import io.herd.core.Worker;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.testkit.TestWorkerCommand;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A JVM that spawns workers through a {@link ProcessWorkerFactory} and then waits to be killed,
 * for {@link ProcessWorkerFactoryJvmDeathTest}. Prints {@code worker-pid <pid>} per worker, then
 * {@code ready}. Argument: the number of workers (default 2). Never exits on its own.
 */
public final class WorkerHostMain {

  private WorkerHostMain() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    ProcessWorkerFactory factory = new ProcessWorkerFactory(ProcessWorkerConfig.builder()
        .command(TestWorkerCommand.argv())
        .startTimeout(Duration.ofSeconds(30))
        .sandbox(SandboxConfig.none())
        .build());
    for (int i = 1; i <= count; i++) {
      Worker worker = factory.spawn("w-" + i).get(60, TimeUnit.SECONDS);
      System.out.println("worker-pid " + worker.pid().getAsLong());
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
