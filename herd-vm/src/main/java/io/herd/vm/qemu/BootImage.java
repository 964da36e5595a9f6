package io.herd.vm.qemu;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a microVM boots: the kernel, the initramfs holding the image's root file system and the
 * guest init, the kernel command line, and the guest port the app listens on. {@code key} names
 * this combination (image digest, kernel, init): a template snapshot is only valid for the key it
 * was taken from.
 *
 * @param kernel an uncompressed, PVH-bootable {@code vmlinux}
 * @param initrd a cpio "newc" initramfs
 * @param kernelArgs the kernel command line, one argument per element
 * @param guestPort the port the app listens on inside the guest
 * @param key identifies kernel, initramfs and command line together; file-name safe
 * @param controlChannel whether the guest's init answers {@code sync} on the {@code herd.control}
 *     port (herd-vm's init does; a hand-made initramfs may not, and then restored guests keep the
 *     clock and random state of their snapshot)
 */
public record BootImage(Path kernel, Path initrd, List<String> kernelArgs, int guestPort,
    String key, boolean controlChannel) {

  public BootImage {
    Objects.requireNonNull(kernel, "kernel");
    Objects.requireNonNull(initrd, "initrd");
    kernelArgs = List.copyOf(kernelArgs);
    Objects.requireNonNull(key, "key");
    if (!key.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException("a boot image key must be file-name safe: " + key);
    }
  }
}
