package io.herd.server.cli;

import io.herd.server.config.ByteSizeFormat;
import io.herd.core.HerdException;
import io.herd.vm.VmConfig;
import io.herd.vm.qemu.AccelChoice;
import io.herd.vm.qemu.AccelProbe;
import io.herd.vm.image.OciImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@code herd validate} says about a microVM worker ({@code worker.vm}): the image, the
 * guest port, the guest's size, the kernel and its release, the accelerator {@code serve} will
 * use and why, and where derived files go — found without booting anything, so that a file can
 * be checked on any machine. Stateless.
 */
final class VmWorkerReport {

  private VmWorkerReport() {}

  /** The report, one fact per line, under a {@code worker: microVM} heading. */
  static String describe(VmConfig vm) {
    StringBuilder out = new StringBuilder("worker: microVM (QEMU)\n");
    // Opened once more (the loader did): cheap, and the loader keeps no image.
    OciImage image = OciImage.open(vm.image());
    out.append("  image ").append(vm.image()).append(" (").append(formatName(image.format()))
        .append(", ").append(image.digest()).append(")\n");
    out.append("  guest port ").append(vm.port().isPresent()
        ? Integer.toString(vm.port().getAsInt())
        : image.config().onlyExposedPort().getAsInt() + " (the image's ExposedPorts)")
        .append(", runs ").append(image.config().argv()).append('\n');
    out.append("  memory ").append(ByteSizeFormat.format(vm.memoryBytes())).append(", cpus ")
        .append(vm.cpus()).append('\n');
    out.append("  kernel ").append(vm.kernelOrDefault()).append(" (").append(release(vm))
        .append(")\n");
    out.append("  accel ").append(accel(vm)).append('\n');
    out.append("  snapshots ").append(vm.snapshots()
        ? "on: one template VM per image, each session's VM a copy-on-write clone of it"
        : "off: every VM boots cold").append('\n');
    out.append("  cacheDir ").append(vm.cacheDir());
    return out.toString();
  }

  /**
   * Which accelerator {@code serve} will use on this machine and why, decided without booting
   * ({@link AccelProbe#quickDecide}): where {@code /dev/kvm} opens, {@code auto} still probes it
   * with a guest boot at start, and says so.
   */
  private static String accel(VmConfig vm) {
    try {
      AccelChoice choice = new AccelProbe().quickDecide(vm.accel());
      return choice.accel().key() + ": " + choice.reason();
    } catch (HerdException e) {
      return "kvm requested, but not usable on this machine (serve would fail): "
          + e.getMessage();
    }
  }

  private static String formatName(OciImage.Format format) {
    return switch (format) {
      case OCI_LAYOUT -> "OCI layout";
      case OCI_ARCHIVE -> "OCI archive";
      case DOCKER_ARCHIVE -> "docker archive";
    };
  }

  /**
   * The kernel's release, from the {@code release} file that {@code fetch-kernel.sh} writes beside
   * it; what is known when there is none.
   */
  private static String release(VmConfig vm) {
    Path kernel = vm.kernelOrDefault();
    if (!Files.isRegularFile(kernel)) {
      return "missing: run herd-vm/kernel/fetch-kernel.sh";
    }
    Path file = kernel.resolveSibling("release");
    try {
      return "release " + Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "release unknown: no " + file;
    }
  }
}
