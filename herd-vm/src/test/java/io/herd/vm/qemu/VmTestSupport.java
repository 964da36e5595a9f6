package io.herd.vm.qemu;

import io.herd.core.Worker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.vm.VmConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the VM tests share: the boot image, configs, a cache directory workers' UIDs can reach,
 * and cleanup of every factory and worker a test made.
 */
final class VmTestSupport implements AutoCloseable {

  static final Path KERNEL = Path.of("/var/cache/herd/vm/kernel/vmlinux");
  static final List<String> KERNEL_ARGS = List.of("console=ttyS0", "panic=-1", "reboot=t",
      "tsc_early_khz=1000000", "tsc=reliable", "no_timer_check", "lpj=4000000", "loglevel=4",
      "pci=off", "mitigations=off", "audit=0", "cryptomgr.notests", "i8042.noaux", "i8042.nomux",
      "i8042.nopnp", "i8042.dumbkbd", "8250.nr_uarts=1", "random.trust_cpu=on", "nowatchdog");

  private final List<VmWorkerFactory> factories = new ArrayList<>();
  private final List<Worker> workers = new ArrayList<>();
  private final Path cacheDir;

  VmTestSupport() throws IOException {
    // not under /tmp or /var/tmp: sandboxed workers get private copies of those
    Files.createDirectories(Path.of("/var/cache/herd"));
    cacheDir = Files.createTempDirectory(Path.of("/var/cache/herd"), "vm-test-");
    Files.setPosixFilePermissions(cacheDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.copy(Path.of("/tmp/kspike/initrd.cpio"), cacheDir.resolve("initrd.cpio"));
    Files.setPosixFilePermissions(cacheDir.resolve("initrd.cpio"),
        PosixFilePermissions.fromString("rw-r--r--"));
  }

  Path cacheDir() {
    return cacheDir;
  }

  BootImage bootImage() {
    return new BootImage(KERNEL, cacheDir.resolve("initrd.cpio"), KERNEL_ARGS, 8080,
        "spike", false);
  }

  VmConfig.Builder vmConfig() {
    return VmConfig.builder().image(KERNEL).kernel(KERNEL).cacheDir(cacheDir)
        .accel(VmConfig.Accel.AUTO);
  }

  static ProcessWorkerConfig workerConfig() {
    return ProcessWorkerConfig.builder().command("unused").healthPath("/")
        .startTimeout(Duration.ofSeconds(60)).stopTimeout(Duration.ofSeconds(5)).build();
  }

  VmWorkerFactory factory(VmConfig vm) {
    VmWorkerFactory factory = new VmWorkerFactory(vm, workerConfig(), bootImage());
    factories.add(factory);
    return factory;
  }

  <W extends Worker> W track(W worker) {
    workers.add(worker);
    return worker;
  }

  Worker spawn(VmWorkerFactory factory, String id) throws Exception {
    return track(factory.spawn(id).get(120, TimeUnit.SECONDS));
  }

  static String get(Worker worker, String path) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> response = client.send(
        HttpRequest.newBuilder(URI.create(worker.address() + path))
            .timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + path + " answered " + response.statusCode());
    }
    return response.body().trim();
  }

  /** One answer of the test app's {@code /count}: its counter and its start's identity. */
  record Count(long n, String boot) {}

  /**
   * Asks the app for {@code /count}: {@code n=<n> pid=<pid> boot=<id>} from herd-vm's test app;
   * the lead's spike app answers {@code pid=<pid> n=<n>} and counts every request.
   */
  static Count count(Worker worker) throws Exception {
    String body = get(worker, "/count");
    long n = -1;
    String boot = "";
    for (String field : body.split("\\s+")) {
      if (field.startsWith("n=")) {
        n = Long.parseLong(field.substring(2));
      } else if (field.startsWith("boot=") || field.startsWith("pid=")) {
        boot = boot + field;
      }
    }
    if (n < 0) {
      throw new IOException("not a /count answer: " + body);
    }
    return new Count(n, boot);
  }

  /**
   * The QEMU process of a VM: a descendant of the herd-launch the factory holds (its child, or
   * its grandchild under a PID namespace's init).
   */
  static ProcessHandle qemu(Worker worker) {
    ProcessHandle held = ProcessHandle.of(worker.pid().getAsLong()).orElseThrow();
    return java.util.stream.Stream.concat(java.util.stream.Stream.of(held), held.descendants())
        .filter(p -> p.info().command().orElse("").contains("qemu-system"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no QEMU under " + held.pid()));
  }

  @Override
  public void close() throws Exception {
    for (Worker worker : workers) {
      worker.kill().get(30, TimeUnit.SECONDS);
    }
    for (VmWorkerFactory factory : factories) {
      factory.close();
    }
    VmFiles.deleteTree(cacheDir);
  }
}
