package io.herd.vm.guest;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import io.herd.vm.VmConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest kernel a {@link VmConfig} boots, checked to be bootable by QEMU's {@code -kernel} on
 * the {@code microvm} machine: an uncompressed ELF {@code vmlinux} with a PVH entry point (the ELF
 * note {@code XEN_ELFNOTE_PHYS32_ENTRY}, type 18), which QEMU jumps to directly — no firmware, no
 * decompressor, the fastest boot under TCG. A {@code bzImage}/{@code vmlinuz} given by mistake
 * would otherwise fail inside QEMU with an unhelpful message, or not at all but slowly.
 *
 * <p>The kernel's modules are the {@code .ko} files in {@code modules/} beside it, loaded by the
 * guest init in the order its file {@code modules/order} lists them (what {@code
 * herd-vm/kernel/fetch-kernel.sh} writes); a kernel without a {@code modules/} directory has its
 * drivers built in. Immutable.
 */
public final class GuestKernel {

  /** The script that fetches the default kernel, for messages. */
  public static final String FETCH_SCRIPT = "herd-vm/kernel/fetch-kernel.sh";

  /**
   * Kernel arguments tuned for a fast boot under TCG, measured here: the guest cannot calibrate
   * its TSC under TCG (it stalls), so it is told the host's frequency ({@code tsc_early_khz},
   * from {@link HostTsc}; the delay loop is derived from it) and trusts it; {@code panic=-1
   * reboot=t} with QEMU's {@code -no-reboot} make a guest panic end QEMU; the rest skips work a
   * one-app VM does not need (legacy keyboard probing, PCI, CPU mitigation setup, crypto
   * self-tests, the audit subsystem). {@code rdinit=/.herd/init} runs herd-vm's init from the
   * initramfs.
   */
  private static final List<String> COMMAND_LINE_BEFORE_TSC = List.of(
      "console=ttyS0", "panic=-1", "reboot=t");
  private static final List<String> COMMAND_LINE_AFTER_TSC = List.of(
      "tsc=reliable", "no_timer_check", "loglevel=4", "pci=off", "mitigations=off", "audit=0",
      "cryptomgr.notests", "i8042.noaux", "i8042.nomux", "i8042.nopnp", "i8042.dumbkbd",
      "8250.nr_uarts=1", "random.trust_cpu=on", "nowatchdog", "rdinit=/.herd/init");

  private static final int PT_NOTE = 4;
  private static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

  private final Path vmlinux;
  private final List<Path> modules;

  private GuestKernel(Path vmlinux, List<Path> modules) {
    this.vmlinux = vmlinux;
    this.modules = List.copyOf(modules);
  }

  /**
   * The kernel of {@code config} ({@link VmConfig#kernelOrDefault()}), validated.
   *
   * @throws InvalidConfigException ({@code worker.vm.kernel}) when it is missing, not a PVH
   *     {@code vmlinux}, or its modules are incomplete; the message says how to fix it
   */
  public static GuestKernel locate(VmConfig config) {
    Path path = config.kernelOrDefault();
    if (config.kernel().isEmpty() && !Files.isRegularFile(path)) {
      throw problem(path, "is not set and the default kernel is missing",
          "run " + FETCH_SCRIPT + " (as the user herd runs as), or set worker.vm.kernel to an"
              + " uncompressed vmlinux");
    }
    return at(path);
  }

  /**
   * The kernel at {@code vmlinux}, validated.
   *
   * @throws InvalidConfigException ({@code worker.vm.kernel}) as {@link #locate} does
   */
  public static GuestKernel at(Path vmlinux) {
    if (!Files.isRegularFile(vmlinux)) {
      throw problem(vmlinux, "is not a file", "an uncompressed vmlinux; " + FETCH_SCRIPT
          + " fetches one");
    }
    try {
      checkPvhElf(vmlinux);
      return new GuestKernel(vmlinux, modulesBeside(vmlinux));
    } catch (IOException e) {
      throw problem(vmlinux, "cannot be read: " + e.getMessage(), "a readable vmlinux");
    }
  }

  /** The uncompressed kernel image, for QEMU's {@code -kernel}. */
  public Path vmlinux() {
    return vmlinux;
  }

  /** The modules the guest init loads, in load order; empty for a kernel with them built in. */
  public List<Path> modules() {
    return modules;
  }

  /**
   * The kernel arguments for QEMU's {@code -append}, one per element. The first call in a JVM
   * measures the host's TSC frequency (about 200 ms).
   */
  public List<String> commandLine() {
    List<String> arguments = new ArrayList<>(COMMAND_LINE_BEFORE_TSC);
    arguments.add("tsc_early_khz=" + HostTsc.khz());
    arguments.addAll(COMMAND_LINE_AFTER_TSC);
    return List.copyOf(arguments);
  }

  private static void checkPvhElf(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer head = read(channel, 0, (int) Math.min(channel.size(), 0x210));
      boolean elf = head.limit() >= 0x40 && head.getInt(0) == 0x464c457f; // "\177ELF"
      if (!elf) {
        boolean bzImage = head.limit() >= 0x206 && head.getInt(0x202) == 0x53726448; // "HdrS"
        throw problem(file, bzImage
                ? "is a compressed bzImage (vmlinuz), which the microvm machine cannot boot fast"
                : "is not an ELF kernel image",
            "an uncompressed vmlinux with a PVH entry; run " + FETCH_SCRIPT
                + " to get Debian's cloud kernel as one");
      }
      boolean is64 = head.get(4) == 2;
      head.order(head.get(5) == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
      long phoff = is64 ? head.getLong(0x20) : Integer.toUnsignedLong(head.getInt(0x1c));
      int phentsize = Short.toUnsignedInt(head.getShort(is64 ? 0x36 : 0x2a));
      int phnum = Short.toUnsignedInt(head.getShort(is64 ? 0x38 : 0x2c));
      for (int i = 0; i < phnum; i++) {
        ByteBuffer ph = read(channel, phoff + (long) i * phentsize, phentsize).order(head.order());
        if (ph.limit() < phentsize || ph.getInt(0) != PT_NOTE) {
          continue;
        }
        long offset = is64 ? ph.getLong(8) : Integer.toUnsignedLong(ph.getInt(4));
        long size = is64 ? ph.getLong(32) : Integer.toUnsignedLong(ph.getInt(16));
        if (hasPvhNote(read(channel, offset, (int) Math.min(size, 1 << 20)).order(head.order()))) {
          return;
        }
      }
      throw problem(file, "is an ELF file without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
          "a vmlinux built with CONFIG_PVH=y; run " + FETCH_SCRIPT
              + " to get Debian's cloud kernel as one");
    }
  }

  /** Walks ELF notes (namesz, descsz, type, name, desc; each 4-aligned) for Xen's type 18. */
  private static boolean hasPvhNote(ByteBuffer notes) {
    int at = 0;
    while (at + 12 <= notes.limit()) {
      int nameSize = notes.getInt(at);
      int descSize = notes.getInt(at + 4);
      int type = notes.getInt(at + 8);
      if (nameSize < 0 || descSize < 0) {
        return false;
      }
      int nameAt = at + 12;
      if (nameSize == 4 && nameAt + 4 <= notes.limit() && type == XEN_ELFNOTE_PHYS32_ENTRY) {
        byte[] name = new byte[3];
        notes.get(nameAt, name);
        if ("Xen".equals(new String(name, StandardCharsets.US_ASCII))) {
          return true;
        }
      }
      at = nameAt + align4(nameSize) + align4(descSize);
    }
    return false;
  }

  private static List<Path> modulesBeside(Path vmlinux) throws IOException {
    Path dir = vmlinux.toAbsolutePath().getParent().resolve("modules");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    Path order = dir.resolve("order");
    if (!Files.isRegularFile(order)) {
      throw problem(vmlinux, "has a modules directory without an order file: " + order,
          "modules/order listing the .ko files in load order, as " + FETCH_SCRIPT + " writes");
    }
    List<Path> modules = new ArrayList<>();
    for (String line : Files.readAllLines(order, StandardCharsets.UTF_8)) {
      String name = line.trim();
      if (name.isEmpty()) {
        continue;
      }
      Path module = dir.resolve(name);
      if (name.contains("/") || !Files.isRegularFile(module)) {
        throw problem(vmlinux, "lists a module that is not in " + dir + ": " + name,
            "every name in modules/order a .ko file beside it; run " + FETCH_SCRIPT + " again");
      }
      modules.add(module);
    }
    return modules;
  }

  private static ByteBuffer read(FileChannel channel, long position, int length)
      throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(Math.max(0, length)).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.hasRemaining() && channel.read(buffer, position + buffer.position()) > 0) {
      // until full or end of file
    }
    return buffer.flip();
  }

  private static int align4(int n) {
    return (n + 3) & ~3;
  }

  private static InvalidConfigException problem(Path path, String what, String expected) {
    return new InvalidConfigException(List.of(
        FieldProblem.of("worker.vm.kernel", path, what, expected)));
  }

  @Override
  public String toString() {
    return "GuestKernel{" + vmlinux + ", " + modules.size() + " modules}";
  }
}
