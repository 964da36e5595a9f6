package io.herd.core.sandbox;

import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A gateway stand-in for {@link SandboxJvmDeathTest}: starts one fully sandboxed worker, prints
 * {@code worker-pid}, {@code init-pid}, {@code path} and {@code netns} lines and then {@code
 * ready}, and waits to be killed.
 */
public final class SandboxHostMain {

  private SandboxHostMain() {}

  public static void main(String[] args) throws Exception {
    ProcessWorkerFactory factory = new ProcessWorkerFactory(ProcessWorkerConfig.builder()
        .command(TestWorkerCommand.argv("--bind", "0.0.0.0"))
        .startTimeout(Duration.ofSeconds(30))
        .sandbox(SandboxConfig.builder().uid(SandboxConfig.UidMode.ISOLATED)
            .network(SandboxConfig.NetworkMode.ISOLATED).required(true).build())
        .build());
    ProcessWorker worker = (ProcessWorker) factory.spawn("w-1").get(40, TimeUnit.SECONDS);
    System.out.println("worker-pid " + worker.pid().getAsLong());
    ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().children()
        .forEach(child -> System.out.println("init-pid " + child.pid()));
    for (Path dir : worker.sandbox().cgroupDirs()) {
      System.out.println("path " + dir);
    }
    System.out.println("path " + worker.sandbox().workdir().orElseThrow());
    System.out.println("netns " + worker.sandbox().networkNamespace().orElseThrow());
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
