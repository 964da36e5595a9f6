package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Binds {@code worker.vm:} to herd-vm's {@link VmConfig}, whose own validation (the image and
 * kernel exist, sizes and ranges) supplies the messages, reported at the lines of their keys.
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
      warnIfNoDefaultKernel(r, vm);
      return vm;
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
      return null;
    }
  }

  /**
   * Warns (never fails) when no kernel is set and the default one has not been fetched: a file
   * is often validated on a machine other than the one that serves it, and serve fails each
   * start with the path anyway.
   */
  private static void warnIfNoDefaultKernel(SectionReader r, VmConfig vm) {
    Path kernel = vm.kernelOrDefault();
    if (vm.kernel().isEmpty() && !Files.isRegularFile(kernel)) {
      r.warning("kernel", "warning: " + r.keyOf("kernel") + " is not set and the default kernel"
          + " is missing: " + kernel + " (expected at serve time: run"
          + " herd-vm/kernel/fetch-kernel.sh, or set " + r.keyOf("kernel") + " to a vmlinux;"
          + " validation passes since the file may be meant for another machine)");
    }
  }
}
