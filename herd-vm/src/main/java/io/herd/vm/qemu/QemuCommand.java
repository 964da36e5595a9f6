package io.herd.vm.qemu;

import io.herd.core.process.ProcessWorkerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The {@code qemu-system-x86_64} argv of one microVM: QEMU's {@code microvm} machine (no PCI, no
 * firmware, no option ROMs: the fastest machine to boot a PVH kernel), one virtio-net on user
 * networking, a virtio-rng, the control port {@code herd.control} and QMP, both on UNIX sockets
 * in the worker's scratch directory, and the guest's serial console on QEMU's stdout (the
 * worker's output).
 *
 * <p>The port forward binds {@value ProcessWorkerConfig#HOST_PLACEHOLDER}:{@value
 * ProcessWorkerConfig#PORT_PLACEHOLDER}, which {@link io.herd.core.process.ProcessWorkerFactory}
 * replaces with the worker's address (127.0.0.1, or its network namespace's address under network
 * isolation) and port, so the proxy reaches the guest where it reaches any worker. {@code
 * restrict=on} cuts the guest off from everything else: it can answer on the forwarded port and
 * reach nothing, not the host, not the network.
 *
 * <p>Guest RAM is always the memory backend {@code mem}, so that a migration stream of one kind
 * of start loads into another (QEMU matches RAM blocks by name): {@link Memory#PRIVATE} for a cold
 * boot or a resume, {@link Memory#TEMPLATE} (a file mapped shared: the RAM stays in the file
 * after the snapshot) and {@link Memory#CLONE} (the same file mapped private: copy-on-write).
 *
 * <p>Immutable value; {@link #argv()} builds a new list each call.
 */
public final class QemuCommand {

  /** The file name of the QMP socket in the worker's scratch directory. */
  public static final String QMP_SOCKET = "qmp.sock";

  /** The file name of the control port's socket in the worker's scratch directory. */
  public static final String CONTROL_SOCKET = "control.sock";

  /** The name of the guest's control port, under {@code /sys/class/virtio-ports/}. */
  public static final String CONTROL_PORT = "herd.control";

  /** Where guest RAM comes from. */
  public enum Memory {
    /** Anonymous memory: a cold boot, or a resume from a full state file. */
    PRIVATE,
    /** The template's RAM file, mapped shared: what the guest writes lands in the file. */
    TEMPLATE,
    /** The template's RAM file, mapped private: pages are copied on the guest's first write. */
    CLONE
  }

  private final Path qemu;
  private final String accel;
  private final long memoryMiB;
  private final int cpus;
  private final Path kernel;
  private final Path initrd;
  private final List<String> kernelArgs;
  private final int guestPort;
  private final Memory memory;
  private final Path ramFile;
  private final boolean incoming;

  private QemuCommand(Builder b) {
    this.qemu = Objects.requireNonNull(b.qemu, "qemu");
    this.accel = Objects.requireNonNull(b.accel, "accel");
    this.memoryMiB = b.memoryMiB;
    this.cpus = b.cpus;
    this.kernel = Objects.requireNonNull(b.kernel, "kernel");
    this.initrd = Objects.requireNonNull(b.initrd, "initrd");
    this.kernelArgs = List.copyOf(b.kernelArgs);
    this.guestPort = b.guestPort;
    this.memory = b.memory;
    this.ramFile = b.ramFile;
    this.incoming = b.incoming;
    if (memory != Memory.PRIVATE && ramFile == null) {
      throw new IllegalArgumentException(memory + " memory needs a RAM file");
    }
    if (guestPort < 1 || guestPort > 65535) {
      throw new IllegalArgumentException("guest port out of range: " + guestPort);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this command's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.qemu = qemu;
    b.accel = accel;
    b.memoryMiB = memoryMiB;
    b.cpus = cpus;
    b.kernel = kernel;
    b.initrd = initrd;
    b.kernelArgs = kernelArgs;
    b.guestPort = guestPort;
    b.memory = memory;
    b.ramFile = ramFile;
    b.incoming = incoming;
    return b;
  }

  /** The argv, with the factory's placeholders for port, host and scratch directory. */
  public List<String> argv() {
    String workdir = ProcessWorkerConfig.WORKDIR_PLACEHOLDER;
    List<String> argv = new ArrayList<>(48);
    argv.add(qemu.toString());
    argv.addAll(List.of("-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on,memory-backend=mem"));
    argv.addAll(List.of("-accel", accel));
    argv.addAll(List.of("-m", memoryMiB + "M", "-smp", Integer.toString(cpus)));
    argv.addAll(List.of("-object", memoryObject()));
    argv.addAll(List.of("-nodefaults", "-no-user-config", "-no-reboot", "-display", "none"));
    argv.addAll(List.of("-kernel", kernel.toString(), "-initrd", initrd.toString()));
    argv.addAll(List.of("-append", String.join(" ", kernelArgs)));
    argv.addAll(List.of("-netdev", "user,id=n0,restrict=on,hostfwd=tcp:"
        + ProcessWorkerConfig.HOST_PLACEHOLDER + ":" + ProcessWorkerConfig.PORT_PLACEHOLDER
        + "-:" + guestPort));
    argv.addAll(List.of("-device", "virtio-net-device,netdev=n0"));
    argv.addAll(List.of("-device", "virtio-rng-device"));
    argv.addAll(List.of("-device", "virtio-serial-device"));
    argv.addAll(List.of("-chardev", "socket,id=ctl,path=" + workdir + "/" + CONTROL_SOCKET
        + ",server=on,wait=off"));
    argv.addAll(List.of("-device", "virtserialport,chardev=ctl,name=" + CONTROL_PORT));
    argv.addAll(List.of("-qmp", "unix:" + workdir + "/" + QMP_SOCKET + ",server=on,wait=off"));
    argv.addAll(List.of("-serial", "stdio"));
    if (incoming) {
      argv.addAll(List.of("-incoming", "defer"));
    }
    return argv;
  }

  private String memoryObject() {
    String size = ",size=" + memoryMiB + "M";
    return switch (memory) {
      case PRIVATE -> "memory-backend-ram,id=mem" + size;
      case TEMPLATE -> "memory-backend-file,id=mem" + size + ",mem-path=" + ramFile + ",share=on";
      case CLONE -> "memory-backend-file,id=mem" + size + ",mem-path=" + ramFile + ",share=off";
    };
  }

  @Override
  public String toString() {
    return String.join(" ", argv());
  }

  /** Mutable builder; not thread-safe. */
  public static final class Builder {
    private Path qemu = Path.of("qemu-system-x86_64");
    private String accel = "tcg";
    private long memoryMiB = 256;
    private int cpus = 1;
    private Path kernel;
    private Path initrd;
    private List<String> kernelArgs = List.of();
    private int guestPort = 8080;
    private Memory memory = Memory.PRIVATE;
    private Path ramFile;
    private boolean incoming;

    private Builder() {}

    /** The QEMU binary: a name looked up on PATH, or a path. */
    public Builder qemu(Path qemu) {
      this.qemu = qemu;
      return this;
    }

    /** {@code kvm} or {@code tcg}. */
    public Builder accel(String accel) {
      this.accel = accel;
      return this;
    }

    public Builder memoryMiB(long memoryMiB) {
      this.memoryMiB = memoryMiB;
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

    public Builder initrd(Path initrd) {
      this.initrd = initrd;
      return this;
    }

    /** The kernel command line, one argument per element. */
    public Builder kernelArgs(List<String> kernelArgs) {
      this.kernelArgs = List.copyOf(kernelArgs);
      return this;
    }

    public Builder guestPort(int guestPort) {
      this.guestPort = guestPort;
      return this;
    }

    /** Where guest RAM comes from; {@code ramFile} is null for {@link Memory#PRIVATE}. */
    public Builder memory(Memory memory, Path ramFile) {
      this.memory = Objects.requireNonNull(memory, "memory");
      this.ramFile = ramFile;
      return this;
    }

    /** Whether QEMU waits for {@code migrate-incoming} instead of booting. */
    public Builder incoming(boolean incoming) {
      this.incoming = incoming;
      return this;
    }

    public QemuCommand build() {
      return new QemuCommand(this);
    }
  }
}
