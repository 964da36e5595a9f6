package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.Worker;
import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.Processes;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Owns what one sandbox test starts (factories, workers) and proves on {@link #close()} that
 * nothing outlives it: every worker stopped, every factory closed, and then no process descending
 * from this JVM, no cgroup directory, network namespace or veth link named after this JVM, and no
 * leased UID or address block left. Thread-safe.
 */
final class SandboxFixture implements AutoCloseable {

  static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  private final List<Worker> workers = new CopyOnWriteArrayList<>();
  private final List<ProcessWorkerFactory> factories = new CopyOnWriteArrayList<>();

  /** Skips the calling test, with the reason shown, unless the sandbox can be fully applied. */
  static void assumeSandboxHost() {
    HostSupport host = HostSupport.detect();
    assumeTrue(host.root(), "skipped: the sandbox tests need root (cgroups, namespaces, setuid)");
    assumeTrue(host.namespacesWork(), "skipped: " + host.namespaceProblem());
    assumeTrue(host.launcher().isPresent(), "skipped: " + host.launcherProblem());
  }

  /** Skips the calling test unless network isolation (namespaces and nftables) can be applied. */
  static void assumeNetworkHost() {
    assumeSandboxHost();
    assumeTrue(HostSupport.detect().ip().isPresent(), "skipped: ip (iproute2) is not installed");
    assumeTrue(HostSupport.detect().nsenter().isPresent(), "skipped: nsenter is not installed");
    assumeTrue(HostSupport.detect().firewallWorks(),
        () -> "skipped: " + HostSupport.detect().firewallProblem());
  }

  ProcessWorkerFactory factory(SandboxConfig sandbox, List<String> command) {
    ProcessWorkerFactory factory = new ProcessWorkerFactory(ProcessWorkerConfig.builder()
        .command(command)
        .startTimeout(Duration.ofSeconds(30))
        .stopTimeout(Duration.ofSeconds(5))
        .sandbox(sandbox)
        .build());
    factories.add(factory);
    return factory;
  }

  /** A factory for {@code config}, closed by {@link #close()}. */
  ProcessWorkerFactory factory(ProcessWorkerConfig config) {
    ProcessWorkerFactory factory = new ProcessWorkerFactory(config);
    factories.add(factory);
    return factory;
  }

  ProcessWorker spawn(ProcessWorkerFactory factory, String id) throws Exception {
    ProcessWorker worker = (ProcessWorker) factory.spawn(id).get(40, TimeUnit.SECONDS);
    workers.add(worker);
    return worker;
  }

  /** GET {@code path} on {@code worker}; the body, or an exception when the connection broke. */
  static String get(Worker worker, String path) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create(worker.address() + path))
            .timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    return response.body();
  }

  /** The cgroup directories of this JVM's workers that exist now, in every hierarchy. */
  static List<Path> leftoverCgroups() throws IOException {
    String prefix = "herd-" + ProcessHandle.current().pid() + "-";
    List<Path> left = new ArrayList<>();
    for (int attempt = 1; ; attempt++) {
      left.clear();
      try (Stream<Path> dirs = Files.walk(CGROUP_ROOT, 6)) {
        dirs.filter(d -> d.getFileName() != null && d.getFileName().toString().startsWith(prefix))
            .filter(Files::isDirectory)
            .forEach(left::add);
        return left;
      } catch (java.io.UncheckedIOException e) {
        // a cgroup of someone else (another JVM's tests, busy) vanished while walking: again
        if (attempt == 20) {
          throw e;
        }
      }
    }
  }

  /**
   * The network namespaces, veth links and host nftables tables of this JVM's sandboxes that
   * exist now.
   */
  static List<String> leftoverNetworks() throws IOException {
    long pid = ProcessHandle.current().pid();
    List<String> left = new ArrayList<>();
    Path netns = Path.of("/run/netns");
    if (Files.isDirectory(netns)) {
      try (Stream<Path> names = Files.list(netns)) {
        names.map(p -> p.getFileName().toString())
            .filter(n -> n.startsWith("herd-" + pid + "-"))
            .forEach(left::add);
      }
    }
    try (Stream<Path> links = Files.list(Path.of("/sys/class/net"))) {
      links.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("hv" + Long.toString(pid, 36) + "-"))
          .forEach(left::add);
    }
    HostSupport.detect().nft().ifPresent(nft -> {
      try {
        for (String line : HostCommand.run(List.of(nft.toString(), "list tables")).split("\n")) {
          if (line.startsWith("table inet herd-" + pid + "-")) {
            left.add(line);
          }
        }
      } catch (IOException e) {
        left.add("cannot list nft tables: " + e.getMessage());
      }
    });
    return left;
  }

  @Override
  public void close() throws Exception {
    List<CompletableFuture<?>> exits = new ArrayList<>();
    workers.forEach(w -> exits.add(w.stop()));
    try {
      CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    } finally {
      factories.forEach(ProcessWorkerFactory::close);
    }
    List<ProcessHandle> leaked = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    do {
      leaked = Processes.descendantsOf(ProcessHandle.current());
      if (!leaked.isEmpty()) {
        Thread.sleep(20);
      }
    } while (!leaked.isEmpty() && System.nanoTime() < deadline);
    leaked.forEach(ProcessHandle::destroyForcibly);
    assertThat(leaked).as("processes left behind (now killed)").isEmpty();
    assertThat(leftoverCgroups()).as("cgroup directories left behind").isEmpty();
    assertThat(leftoverNetworks()).as("network namespaces or links left behind").isEmpty();
    assertThat(UidLeases.shared().leased()).as("UIDs still leased").isEmpty();
    assertThat(LeaseDirectory.at(LeaseDirectory.HOST_ROOT.resolve("net")).held())
        .as("/30 blocks still leased").isEmpty();
    removeWorkdirRootIfEmpty();
  }

  /** The default {@code sandbox.workdirRoot}, created by the first worker. */
  static void removeWorkdirRootIfEmpty() {
    try {
      Files.deleteIfExists(SandboxConfig.defaults().workdirRoot());
    } catch (IOException e) {
      // not empty: a worker directory is left, which the assertions above report
    }
  }
}
