package io.herd.core.sandbox;

import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.TestWorkerClient;
import io.herd.testkit.TestWorkerCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A gateway stand-in for {@link WorkerTreeTest}: starts one worker without namespaces (see {@link
 * WorkerTreeTest#treeCommand()}), prints {@code launcher P}, {@code worker P}, {@code child P}
 * and {@code grandchild P} (the two processes the worker's command left behind), then {@code
 * ready}, and waits to be killed.
 *
 * <p>Argument: the {@code sandbox.workdirRoot} to use.
 */
public final class WorkerTreeHostMain {

  private WorkerTreeHostMain() {}

  public static void main(String[] args) throws Exception {
    ProcessWorkerFactory factory = new ProcessWorkerFactory(ProcessWorkerConfig.builder()
        .command(WorkerTreeTest.treeCommand())
        .startTimeout(Duration.ofSeconds(30))
        .sandbox(WorkerTreeTest.sandbox(Path.of(args[0])))
        .build());
    ProcessWorker worker = (ProcessWorker) factory.spawn("w-tree").get(40, TimeUnit.SECONDS);
    System.out.println("launcher " + worker.pid().getAsLong());
    System.out.println("worker " + new TestWorkerClient(worker.address()).pid());
    Path scratch = worker.sandbox().workdir().orElseThrow();
    for (String name : List.of("child", "grandchild")) {
      System.out.println(name + " " + Files.readString(scratch.resolve(name)).trim());
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  /** {@code argv} as one shell command line: each argument single-quoted. */
  static String shellQuoted(List<String> argv) {
    return argv.stream().map(a -> "'" + a.replace("'", "'\\''") + "'")
        .collect(Collectors.joining(" "));
  }
}
