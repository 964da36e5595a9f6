package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.InvalidConfigException;
import io.herd.vm.VmConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestKernelTest {

  @TempDir Path dir;

  /** The kernel that fetch-kernel.sh put in the default cache directory (CI runs it). */
  static GuestKernel defaultKernel(Path image) {
    return GuestKernel.locate(VmConfig.builder().image(image).build());
  }

  @Test
  void acceptsTheFetchedVmlinuxWithItsModulesInTheirOrder() throws IOException {
    GuestKernel kernel = defaultKernel(dir);

    Path modules = kernel.vmlinux().resolveSibling("modules");
    List<String> order = Files.readAllLines(modules.resolve("order")).stream()
        .filter(l -> !l.isBlank()).toList();
    assertThat(kernel.modules()).extracting(p -> p.getFileName().toString())
        .containsExactlyElementsOf(order)
        .startsWith("virtio_ring.ko", "virtio.ko");
    assertThat(kernel.commandLine())
        .contains("rdinit=/.herd/init", "console=ttyS0", "tsc=reliable", "panic=-1");
  }

  @Test
  void aMissingDefaultKernelNamesTheFetchScript() {
    VmConfig config = VmConfig.builder().image(dir).cacheDir(dir.resolve("cache")).build();

    assertThatThrownBy(() -> GuestKernel.locate(config))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("worker.vm.kernel is not set and the default kernel is missing")
        .hasMessageContaining(dir.resolve("cache/kernel/vmlinux").toString())
        .hasMessageContaining("herd-vm/kernel/fetch-kernel.sh");
  }

  @Test
  void aBzImageIsRefusedWithTheFix() throws IOException {
    ByteBuffer bzImage = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    bzImage.put(0, (byte) 'M').put(1, (byte) 'Z').putInt(0x202, 0x53726448); // "HdrS"
    Path vmlinuz = Files.write(dir.resolve("vmlinuz"), bzImage.array());

    assertThatThrownBy(() -> GuestKernel.at(vmlinuz))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("worker.vm.kernel is a compressed bzImage (vmlinuz)")
        .hasMessageContaining("uncompressed vmlinux")
        .hasMessageContaining("herd-vm/kernel/fetch-kernel.sh");
  }

  @Test
  void anElfWithoutAPvhEntryIsRefused() throws IOException {
    Path notAKernel = Files.copy(Path.of("/bin/sh").toRealPath(), dir.resolve("vmlinux"));

    assertThatThrownBy(() -> GuestKernel.at(notAKernel))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("is an ELF file without a PVH entry note")
        .hasMessageContaining("herd-vm/kernel/fetch-kernel.sh");
  }

  @Test
  void aFileThatIsNoKernelAtAllIsRefused() throws IOException {
    Path text = Files.writeString(dir.resolve("vmlinux"), "not a kernel");

    assertThatThrownBy(() -> GuestKernel.at(text))
        .hasMessageContaining("worker.vm.kernel is not an ELF kernel image");
  }

  @Test
  void aModuleListedButMissingIsNamed() throws IOException {
    Path kernelDir = Files.createDirectories(dir.resolve("kernel/modules")).getParent();
    Path vmlinux = Files.copy(defaultKernel(dir).vmlinux(), kernelDir.resolve("vmlinux"));
    Files.writeString(kernelDir.resolve("modules/order"), "virtio_ring.ko\n");

    assertThatThrownBy(() -> GuestKernel.at(vmlinux))
        .hasMessageContaining("lists a module that is not in")
        .hasMessageContaining("virtio_ring.ko");

    Files.delete(kernelDir.resolve("modules/order"));
    assertThatThrownBy(() -> GuestKernel.at(vmlinux))
        .hasMessageContaining("has a modules directory without an order file");

    Files.delete(kernelDir.resolve("modules"));
    assertThat(GuestKernel.at(vmlinux).modules()).as("no modules dir: drivers built in").isEmpty();
  }
}
