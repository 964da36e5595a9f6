package io.herd.server.runtime;

import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.WorkerOutput;
import io.herd.vm.VmConfig;
import io.herd.vm.guest.GuestKernel;
import io.herd.vm.guest.GuestLaunch;
import io.herd.vm.guest.Initramfs;
import io.herd.vm.image.ImageConfig;
import io.herd.vm.image.OciImage;
import io.herd.vm.image.RootfsCache;
import io.herd.vm.qemu.BootImage;
import io.herd.vm.qemu.VmWorkerFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * microVM workers ({@code worker.vm}): herd-vm's {@link VmWorkerFactory}, which runs each VM's
 * QEMU through a process factory of its own (the sandbox, output capture and health checks of
 * program workers). Its VMs start as they did at start: not reconfigurable.
 *
 * <p>Before the factory exists the image is made bootable: unpacked (cached per digest), packed
 * with herd's guest init and the kernel's modules into an initramfs. The initramfs is this
 * gateway's own (deleted at {@link #close()}), world-readable in a directory others may only
 * traverse, since sandboxed QEMUs run under UIDs of their own.
 *
 * <p>Thread-safe, as the factory is.
 */
final class VmBackend implements WorkerBackend {

  private final VmWorkerFactory factory;
  private final ProcessWorkerConfig config;
  private final Path initrd;

  private VmBackend(VmWorkerFactory factory, ProcessWorkerConfig config, Path initrd) {
    this.factory = factory;
    this.config = config;
    this.initrd = initrd;
  }

  /**
   * Prepares the boot image of {@code vm} and the factory; blocks while the image is unpacked
   * (once per digest) and packed.
   *
   * @param worker the VMM process settings: health path, timeouts, sandbox
   * @throws RuntimeException saying what is wrong with the image, kernel or cache directory
   */
  static VmBackend start(VmConfig vm, ProcessWorkerConfig worker) {
    Path initrd = null;
    try {
      GuestKernel kernel = GuestKernel.locate(vm);
      OciImage image = OciImage.open(vm.image());
      ImageConfig ic = image.config();
      int port = vm.port().isPresent() ? vm.port().getAsInt()
          : ic.onlyExposedPort().orElseThrow(() -> new IllegalStateException(
              "worker.vm.port is not set and " + vm.image() + " exposes no single TCP port"));
      Path rootfs = new RootfsCache().unpack(image, vm.cacheDir());
      GuestLaunch launch = GuestLaunch.forImage(ic.entrypoint(), ic.cmd(), ic.env(),
          ic.workingDir(), ic.user(), port, rootfs);
      Path dir = vm.cacheDir().resolve("initrd");
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
      initrd = Files.createTempFile(dir, "herd-" + ProcessHandle.current().pid() + "-", ".cpio");
      Initramfs.build(rootfs, launch, kernel, initrd);
      Files.setPosixFilePermissions(initrd, PosixFilePermissions.fromString("rw-r--r--"));
      String key = image.digest().replace(':', '-') + "-"
          + initrd.getFileName().toString().replace(".cpio", "");
      BootImage boot = new BootImage(kernel.vmlinux(), initrd, kernel.commandLine(), port, key,
          true);
      return new VmBackend(new VmWorkerFactory(vm, worker, boot), worker, initrd);
    } catch (IOException e) {
      deleteQuietly(initrd);
      throw new UncheckedIOException("worker.vm.image " + vm.image()
          + " cannot be made bootable: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      deleteQuietly(initrd);
      throw e;
    }
  }

  @Override
  public WorkerFactory factory() {
    return factory;
  }

  @Override
  public ProcessWorkerConfig config() {
    return config;
  }

  @Override
  public boolean reconfigurable() {
    return false;
  }

  @Override
  public void reconfigure(ProcessWorkerConfig next) {
    throw new UnsupportedOperationException("microVM workers start as they did at start");
  }

  @Override
  public Optional<WorkerOutput> output(String workerId) {
    return factory.processes().output(workerId);
  }

  @Override
  public void close() {
    try {
      factory.close();
    } finally {
      deleteQuietly(initrd);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // a leftover file in the cache directory, harmless
    }
  }
}
