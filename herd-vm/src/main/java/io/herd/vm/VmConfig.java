package io.herd.vm;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a microVM worker is ({@code worker.vm}): the OCI image it boots, the guest port its app
 * listens on, the guest's memory and CPUs, the kernel, the accelerator, and where herd-vm keeps
 * what it derives from them (unpacked images, initramfs archives, template snapshots, suspended
 * sessions). Immutable; validated at {@link Builder#build()}.
 *
 * <p>The image and the kernel are checked to exist at build time, so that a typo fails at start-up
 * with the key and the fix; whether the image is a valid OCI image is checked when it is opened.
 */
public final class VmConfig {

  /** The default guest memory: 256 MiB. */
  public static final long DEFAULT_MEMORY_BYTES = 256L * 1024 * 1024;

  /** The smallest guest memory accepted: the guest kernel alone needs about 40 MiB. */
  public static final long MIN_MEMORY_BYTES = 64L * 1024 * 1024;

  /** Which accelerator runs the guest ({@code worker.vm.accel}). */
  public enum Accel {
    /** KVM where {@code /dev/kvm} exists and boots the guest, else TCG with one warning. */
    AUTO,
    /** Hardware virtualization; fails when KVM is missing or unusable. */
    KVM,
    /** QEMU's software emulation: slower, works everywhere. */
    TCG;

    /** The YAML spelling: {@code auto}, {@code kvm}, {@code tcg}. */
    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The accelerator for its YAML spelling, case-insensitive; empty when there is none. */
    public static Optional<Accel> parse(String text) {
      if (text == null) {
        return Optional.empty();
      }
      for (Accel a : values()) {
        if (a.key().equalsIgnoreCase(text.trim())) {
          return Optional.of(a);
        }
      }
      return Optional.empty();
    }
  }

  private final Path image;
  private final Integer port;
  private final long memoryBytes;
  private final int cpus;
  private final Path kernel;
  private final Accel accel;
  private final Path cacheDir;
  private final boolean snapshots;

  private VmConfig(Builder b) {
    this.image = b.image;
    this.port = b.port;
    this.memoryBytes = b.memoryBytes;
    this.cpus = b.cpus;
    this.kernel = b.kernel;
    this.accel = b.accel;
    this.cacheDir = b.cacheDir != null ? b.cacheDir : defaultCacheDir();
    this.snapshots = b.snapshots;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values, to derive a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.image = image;
    b.port = port;
    b.memoryBytes = memoryBytes;
    b.cpus = cpus;
    b.kernel = kernel;
    b.accel = accel;
    b.cacheDir = cacheDir;
    b.snapshots = snapshots;
    return b;
  }

  /**
   * {@code worker.vm.image}: an OCI image layout directory (as {@code skopeo copy … oci:DIR}
   * writes), or an OCI or docker-archive tarball.
   */
  public Path image() {
    return image;
  }

  /**
   * {@code worker.vm.port}: the guest port the app listens on; empty means the image's only
   * exposed TCP port (an image with none or several then fails when it is opened).
   */
  public OptionalInt port() {
    return port == null ? OptionalInt.empty() : OptionalInt.of(port);
  }

  /** {@code worker.vm.memory}: the guest's RAM in bytes, 256 MiB unless set. */
  public long memoryBytes() {
    return memoryBytes;
  }

  /** {@code worker.vm.cpus}: the guest's virtual CPUs, 1 unless set. */
  public int cpus() {
    return cpus;
  }

  /**
   * {@code worker.vm.kernel}: an uncompressed {@code vmlinux} to boot; empty means {@code
   * <cacheDir>/kernel/vmlinux}, where {@code herd-vm/kernel/fetch-kernel.sh} puts Debian's cloud
   * kernel. Modules the kernel needs are read from {@code modules/} beside it.
   */
  public Optional<Path> kernel() {
    return Optional.ofNullable(kernel);
  }

  /** The kernel to boot: {@link #kernel()}, or the default one under {@link #cacheDir()}. */
  public Path kernelOrDefault() {
    return kernel != null ? kernel : cacheDir.resolve("kernel").resolve("vmlinux");
  }

  /** {@code worker.vm.accel}: {@link Accel#AUTO} unless set. */
  public Accel accel() {
    return accel;
  }

  /**
   * {@code worker.vm.cacheDir}: where unpacked images, initramfs archives, template snapshots and
   * suspended sessions live. Default {@code /var/cache/herd/vm} for root (readable by workers'
   * UIDs, unlike {@code /root}), else {@code ${XDG_CACHE_HOME:-~/.cache}/herd/vm}.
   */
  public Path cacheDir() {
    return cacheDir;
  }

  /**
   * {@code worker.vm.snapshots}: {@code true} (default) boots one template VM per image and
   * starts each session's VM as a copy-on-write clone of its snapshot; {@code false} cold-boots
   * every VM.
   */
  public boolean snapshots() {
    return snapshots;
  }

  /** The default {@link #cacheDir()} for this JVM's user. */
  public static Path defaultCacheDir() {
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      return Path.of("/var/cache/herd/vm");
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isBlank()
        ? Path.of(xdg)
        : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("herd").resolve("vm");
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof VmConfig)) {
      return false;
    }
    VmConfig c = (VmConfig) o;
    return image.equals(c.image) && Objects.equals(port, c.port) && memoryBytes == c.memoryBytes
        && cpus == c.cpus && Objects.equals(kernel, c.kernel) && accel == c.accel
        && cacheDir.equals(c.cacheDir) && snapshots == c.snapshots;
  }

  @Override
  public int hashCode() {
    return Objects.hash(image, port, memoryBytes, cpus, kernel, accel, cacheDir, snapshots);
  }

  @Override
  public String toString() {
    return "VmConfig{image=" + image + ", port=" + (port == null ? "image's" : port)
        + ", memory=" + memoryBytes + ", cpus=" + cpus + ", kernel="
        + (kernel == null ? "default" : kernel) + ", accel=" + accel.key() + ", cacheDir="
        + cacheDir + ", snapshots=" + snapshots + "}";
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private Path image;
    private Integer port;
    private long memoryBytes = DEFAULT_MEMORY_BYTES;
    private int cpus = 1;
    private Path kernel;
    private Accel accel = Accel.AUTO;
    private Path cacheDir;
    private boolean snapshots = true;

    private Builder() {}

    public Builder image(Path image) {
      this.image = image;
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder memoryBytes(long memoryBytes) {
      this.memoryBytes = memoryBytes;
      return this;
    }

    public Builder cpus(int cpus) {
      this.cpus = cpus;
      return this;
    }

    public Builder kernel(Path kernel) {
      this.kernel = kernel;
      return this;
    }

    public Builder accel(Accel accel) {
      this.accel = accel;
      return this;
    }

    public Builder cacheDir(Path cacheDir) {
      this.cacheDir = cacheDir;
      return this;
    }

    public Builder snapshots(boolean snapshots) {
      this.snapshots = snapshots;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws InvalidConfigException listing every invalid field, named {@code worker.vm.*}
     */
    public VmConfig build() {
      List<FieldProblem> problems = new ArrayList<>();
      if (image == null) {
        problems.add(FieldProblem.of("worker.vm.image", null, "is missing",
            "an OCI image layout directory, or an OCI or docker-archive tarball"));
      } else if (!Files.exists(image)) {
        problems.add(FieldProblem.of("worker.vm.image", image, "does not exist",
            "an OCI image layout directory (skopeo copy docker://IMAGE oci:DIR), or an OCI or"
                + " docker-archive tarball (docker save)"));
      }
      if (port != null && (port < 1 || port > 65535)) {
        problems.add(FieldProblem.of("worker.vm.port", port, "is out of range", "1..65535"));
      }
      if (memoryBytes < MIN_MEMORY_BYTES) {
        problems.add(FieldProblem.of("worker.vm.memory", memoryBytes + " bytes", "is too small",
            ">= 64MiB"));
      } else if (memoryBytes % (1024 * 1024) != 0) {
        problems.add(FieldProblem.of("worker.vm.memory", memoryBytes + " bytes",
            "is not a whole number of MiB", "a multiple of 1MiB, e.g. 256MiB"));
      }
      if (cpus < 1 || cpus > 64) {
        problems.add(FieldProblem.of("worker.vm.cpus", cpus, "is out of range", "1..64"));
      }
      if (kernel != null && !Files.isRegularFile(kernel)) {
        problems.add(FieldProblem.of("worker.vm.kernel", kernel, "is not a file",
            "an uncompressed vmlinux, or unset for the default that"
                + " herd-vm/kernel/fetch-kernel.sh fetches"));
      }
      if (accel == null) {
        problems.add(FieldProblem.of("worker.vm.accel", null, "is missing", "auto, kvm or tcg"));
      }
      if (!problems.isEmpty()) {
        throw new InvalidConfigException(problems);
      }
      return new VmConfig(this);
    }
  }
}
