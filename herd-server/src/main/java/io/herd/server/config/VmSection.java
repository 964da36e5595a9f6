package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.vm.VmConfig;
import io.herd.vm.guest.GuestKernel;
import io.herd.vm.image.OciImage;
import io.herd.vm.image.VmImageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Binds {@code worker.vm:} to herd-vm's {@link VmConfig}, whose own validation (the image and
 * kernel exist, sizes and ranges) supplies the messages, reported at the lines of their keys;
 * then opens the image and the kernel the way {@code serve} will (cheaply: JSON documents and
 * ELF headers, no layer), so that a wrong file fails validation rather than the first session.
 * Paths ({@code image}, {@code kernel}, {@code cacheDir}) resolve against the configuration
 * file's directory, as {@code worker.workdir} does, so a file and its {@code ./images/app} move
 * together. {@code memory} takes the size syntax of {@code sandbox.memory} ({@link
 * ByteSizeFormat}). Stateless.
 */
final class VmSection {

  private VmSection() {}

  /** The VM config, or null when it had errors (reported). */
  static VmConfig bind(SectionReader r, Path baseDir) {
    VmConfig.Builder b = VmConfig.builder();
    Optional<String> image = r.string("image");
    image.ifPresent(text -> b.image(baseDir.resolve(text).normalize()));
    if (r.has("port")) {
      b.port(r.integer("port", 0));
    }
    if (r.has("memory")) {
      b.memoryBytes(r.size("memory", VmConfig.DEFAULT_MEMORY_BYTES));
    }
    b.cpus(r.integer("cpus", 1));
    r.string("kernel").ifPresent(text -> b.kernel(baseDir.resolve(text).normalize()));
    r.string("accel").ifPresent(text -> VmConfig.Accel.parse(text).ifPresentOrElse(b::accel,
        () -> r.error("accel", r.keyOf("accel") + " is unknown: " + text
            + " (expected: auto, kvm or tcg)")));
    r.string("cacheDir").ifPresent(text -> b.cacheDir(baseDir.resolve(text).normalize()));
    b.snapshots(r.bool("snapshots", true));
    r.finish();
    if (!r.has("image")) {
      // Said here, with the way to get one; the library's own "is missing" is then skipped.
      r.error("image", r.keyOf("image") + " is missing: none (expected: an OCI image layout"
          + " directory, e.g. ./images/app from skopeo copy docker://IMAGE oci:./images/app,"
          + " or an OCI or docker-archive tarball from docker save)");
    }
    try {
      VmConfig vm = b.build();
      boolean kernelOk = checkKernel(r, vm);
      boolean imageOk = checkImage(r, vm);
      return kernelOk && imageOk ? vm : null;
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
      return null;
    }
  }

  /**
   * Whether the kernel is a bootable {@code vmlinux} ({@link GuestKernel}: an ELF with a PVH entry,
   * its modules listed), so that a {@code vmlinuz} given by mistake fails here with the fix rather
   * than at the first spawn. The default kernel may be missing: a warning, since a file is often
   * validated on a machine other than the one that serves it.
   */
  private static boolean checkKernel(SectionReader r, VmConfig vm) {
    Path kernel = vm.kernelOrDefault();
    if (vm.kernel().isEmpty() && !Files.isRegularFile(kernel)) {
      r.warning("kernel", "warning: " + r.keyOf("kernel") + " is not set and the default kernel"
          + " is missing: " + kernel + " (expected at serve time: run "
          + GuestKernel.FETCH_SCRIPT + ", or set " + r.keyOf("kernel") + " to a vmlinux;"
          + " validation passes since the file may be meant for another machine)");
      return true;
    }
    try {
      GuestKernel.at(kernel);
      return true;
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
      return false;
    }
  }

  /**
   * Whether the image can be read (its index, manifest and config, each checked against its
   * digest; layers are read when it is unpacked) and says what to run and on which port.
   */
  private static boolean checkImage(SectionReader r, VmConfig vm) {
    OciImage image;
    try {
      image = OciImage.open(vm.image());
    } catch (VmImageException e) {
      r.error("image", r.keyOf("image") + " is not a readable image: " + e.getMessage());
      return false;
    }
    boolean ok = true;
    if (image.config().argv().isEmpty()) {
      r.error("image", r.keyOf("image") + " runs nothing: " + vm.image() + " has neither"
          + " Entrypoint nor Cmd (expected: an image with ENTRYPOINT or CMD)");
      ok = false;
    }
    if (vm.port().isEmpty() && image.config().onlyExposedPort().isEmpty()) {
      Set<Integer> ports = image.config().exposedTcpPorts();
      r.error("port", r.keyOf("port") + " is not set and the image exposes "
          + (ports.isEmpty() ? "no TCP port" : "several: " + ports) + ": " + vm.image()
          + " (expected: " + r.keyOf("port") + ": the guest port the app listens on)");
      ok = false;
    }
    return ok;
  }

  /** What QEMU itself needs beside its guest's RAM, roughly: its own code, heap and buffers. */
  static final long VMM_OVERHEAD_BYTES = 64L << 20;

  /**
   * Warns, at {@code worker.vm.memory}, when the sandbox's memory limit on each VMM process leaves
   * no room for the guest's RAM plus QEMU's own: such VMs would be killed by the cgroup as their
   * guests touch their memory, which looks like random crashes.
   */
  static void warnAboutSandbox(SectionReader worker, SandboxConfig sandbox, VmConfig vm) {
    long limit = sandbox.memoryBytes();
    if (!sandbox.enabled() || limit <= 0 || limit >= vm.memoryBytes() + VMM_OVERHEAD_BYTES) {
      return;
    }
    worker.section("vm").warning("memory", "warning: sandbox.memory is "
        + ByteSizeFormat.format(limit) + ", which leaves QEMU no room beside worker.vm.memory "
        + ByteSizeFormat.format(vm.memoryBytes()) + " (expected: sandbox.memory >= "
        + ByteSizeFormat.format(vm.memoryBytes() + VMM_OVERHEAD_BYTES)
        + ", the guest's RAM and about 64MiB for QEMU, or a smaller worker.vm.memory)");
  }
}
