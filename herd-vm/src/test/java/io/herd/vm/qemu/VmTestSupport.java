package io.herd.vm.qemu;

import io.herd.core.Worker;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.testkit.OciImageBuilder;
import io.herd.testkit.OciImageBuilder.Entry;
import io.herd.testkit.StaticBinary;
import io.herd.vm.guest.GuestKernel;
import io.herd.vm.guest.GuestLaunch;
import io.herd.vm.guest.Initramfs;
import io.herd.vm.image.ImageConfig;
import io.herd.vm.image.OciImage;
import io.herd.vm.image.RootfsCache;
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

  /** The kernel herd-vm/kernel/fetch-kernel.sh puts in the default cache directory. */
  static final Path KERNEL = Path.of("/var/cache/herd/vm/kernel/vmlinux");

  private final List<VmWorkerFactory> factories = new ArrayList<>();
  private final List<Worker> workers = new ArrayList<>();
  private final Path cacheDir;
  private final Path image;
  private final BootImage boot;

  VmTestSupport() throws IOException {
    // not under /tmp or /var/tmp: sandboxed workers get private copies of those
    Files.createDirectories(Path.of("/var/cache/herd"));
    cacheDir = Files.createTempDirectory(Path.of("/var/cache/herd"), "vm-test-");
    Files.setPosixFilePermissions(cacheDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    try {
      image = testImage(cacheDir.resolve("image"));
      boot = bootImage(image, cacheDir);
    } catch (IOException | RuntimeException | Error e) {
      VmFiles.deleteTree(cacheDir); // close() will not run
      throw e;
    }
  }

  /**
   * An OCI image layout holding the test app (testkit's static counter-server) at {@code
   * /app/counter-server}, run with {@code PORT=8080}, exposing 8080.
   */
  static Path testImage(Path dir) throws IOException {
    byte[] server = Files.readAllBytes(StaticBinary.counterServer());
    return OciImageBuilder.create()
        .layer(Entry.dir("app", 0755), Entry.file("app/counter-server", server, 0755))
        .entrypoint("/app/counter-server")
        .env("PORT=8080", "PATH=/app")
        .exposedPorts("8080/tcp")
        .writeOciLayout(dir);
  }

  /**
   * What {@code herd serve} does with {@code worker.vm.image}: the image unpacked, packed with
   * herd's guest init and the kernel's modules into an initramfs readable by workers' UIDs.
   */
  static BootImage bootImage(Path imageDir, Path cacheDir) throws IOException {
    GuestKernel kernel = GuestKernel.at(KERNEL);
    OciImage image = OciImage.open(imageDir);
    ImageConfig config = image.config();
    int port = config.onlyExposedPort().orElseThrow();
    Path rootfs = new RootfsCache().unpack(image, cacheDir);
    GuestLaunch launch = GuestLaunch.forImage(config.entrypoint(), config.cmd(), config.env(),
        config.workingDir(), config.user(), port, rootfs);
    Path initrd = Initramfs.build(rootfs, launch, kernel, cacheDir.resolve("initrd.cpio"));
    Files.setPosixFilePermissions(initrd, PosixFilePermissions.fromString("rw-r--r--"));
    return new BootImage(kernel.vmlinux(), initrd, kernel.commandLine(), port,
        image.digest().replace(':', '-'), true);
  }

  Path cacheDir() {
    return cacheDir;
  }

  /** The boot image of {@link #testImage}, made once per instance. */
  BootImage bootImage() {
    return boot;
  }

  VmConfig.Builder vmConfig() {
    return VmConfig.builder().image(image).kernel(KERNEL).cacheDir(cacheDir)
        .accel(VmConfig.Accel.AUTO);
  }

  static ProcessWorkerConfig workerConfig() {
    return ProcessWorkerConfig.builder().command("unused").healthPath("/health")
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
   * Asks the test app for {@code /count}: {@code n=<n> pid=<pid> boot=<id>}, where the boot id
   * is drawn from getrandom when the app starts.
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
