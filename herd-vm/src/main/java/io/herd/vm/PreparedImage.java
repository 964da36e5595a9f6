package io.herd.vm;

import io.herd.vm.guest.GuestKernel;
import io.herd.vm.guest.GuestLaunch;
import io.herd.vm.guest.Initramfs;
import io.herd.vm.image.ImageConfig;
import io.herd.vm.image.OciImage;
import io.herd.vm.image.RootfsCache;
import io.herd.vm.image.VmImageException;
import io.herd.vm.qemu.BootImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A {@link VmConfig}'s image made bootable: the OCI image opened (digests checked), its layers
 * unpacked into a root file system (cached per digest under {@link VmConfig#cacheDir()}), and that
 * file system packed with herd's guest init and the kernel's modules into an initramfs. The
 * result, {@link #boot()}, is what {@link io.herd.vm.qemu.VmWorkerFactory} starts VMs from; an
 * application that embeds the pool goes from config to factory with these two classes alone.
 *
 * <p>The initramfs belongs to this object: a file of its own under {@code <cacheDir>/initrd}
 * (world-readable in a directory others may only traverse, since sandboxed QEMUs run under UIDs of
 * their own), deleted by {@link #close()}. Preparing blocks while the image is unpacked (once per
 * digest) and packed: call it at start-up, not on an event loop. Immutable once made.
 */
public final class PreparedImage implements AutoCloseable {

  private final OciImage image;
  private final BootImage boot;

  private PreparedImage(OciImage image, BootImage boot) {
    this.image = image;
    this.boot = boot;
  }

  /**
   * Makes {@code vm}'s image bootable.
   *
   * @throws VmImageException when the image is not a usable OCI image, or names no port
   * @throws io.herd.core.HerdException when the kernel is missing or not a PVH vmlinux
   * @throws UncheckedIOException when the cache directory cannot be written
   */
  public static PreparedImage prepare(VmConfig vm) {
    Path initrd = null;
    try {
      GuestKernel kernel = GuestKernel.locate(vm);
      OciImage image = OciImage.open(vm.image());
      ImageConfig config = image.config();
      int port = vm.port().isPresent() ? vm.port().getAsInt()
          : config.onlyExposedPort().orElseThrow(() -> new VmImageException(
              "worker.vm.port is not set and " + vm.image() + " does not expose exactly one TCP"
                  + " port: set worker.vm.port to the port the app listens on"));
      Path rootfs = new RootfsCache().unpack(image, vm.cacheDir());
      GuestLaunch launch = GuestLaunch.forImage(config.entrypoint(), config.cmd(), config.env(),
          config.workingDir(), config.user(), port, rootfs);
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
      return new PreparedImage(image, boot);
    } catch (IOException e) {
      deleteQuietly(initrd);
      throw new UncheckedIOException("worker.vm.image " + vm.image()
          + " cannot be made bootable: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      deleteQuietly(initrd);
      throw e;
    }
  }

  /** The opened image: its digest and config. */
  public OciImage image() {
    return image;
  }

  /** What the VMs boot: kernel, this object's initramfs, command line, guest port. */
  public BootImage boot() {
    return boot;
  }

  /** Deletes the initramfs; close the factory that boots from it first. Idempotent. */
  @Override
  public void close() {
    deleteQuietly(boot.initrd());
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
