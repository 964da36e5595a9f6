package io.herd.vm.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuCommandTest {

  private static QemuCommand.Builder base() {
    return QemuCommand.builder().kernel(Path.of("/k/vmlinux")).initrd(Path.of("/c/initrd.cpio"))
        .kernelArgs(List.of("console=ttyS0", "panic=-1")).guestPort(8080).memoryMiB(256);
  }

  @Test
  void coldBootHasPrivateRamRestrictedNetworkAndSocketsInTheScratchDirectory() {
    List<String> argv = base().build().argv();

    assertThat(String.join(" ", argv))
        .contains("-M microvm,x-option-roms=off,isa-serial=on,rtc=on,memory-backend=mem")
        .contains("-accel tcg", "-m 256M", "-smp 1")
        .contains("-object memory-backend-ram,id=mem,size=256M")
        .contains("-netdev user,id=n0,restrict=on,hostfwd=tcp:{{host}}:{{port}}-:8080")
        .contains("-chardev socket,id=ctl,path={{workdir}}/control.sock,server=on,wait=off")
        .contains("-device virtserialport,chardev=ctl,name=herd.control")
        .contains("-qmp unix:{{workdir}}/qmp.sock,server=on,wait=off")
        .contains("-serial stdio", "-nodefaults", "-no-user-config", "-no-reboot")
        .doesNotContain("-incoming");
    assertThat(argv).containsSubsequence("-append", "console=ttyS0 panic=-1");
  }

  @Test
  void templateMapsItsRamFileSharedAndClonesPrivateWaitingForTheirState() {
    Path ram = Path.of("/cache/run/1-1/template-1/ram");

    String template = base().memory(QemuCommand.Memory.TEMPLATE, ram).build().toString();
    String clone = base().memory(QemuCommand.Memory.CLONE, ram).incoming(true).build().toString();

    assertThat(template).contains("memory-backend-file,id=mem,size=256M,mem-path=" + ram
        + ",share=on").doesNotContain("-incoming");
    assertThat(clone).contains("memory-backend-file,id=mem,size=256M,mem-path=" + ram
        + ",share=off").contains("-incoming defer");
  }

  @Test
  void sharedMemoryWithoutARamFileIsRefused() {
    assertThatThrownBy(() -> base().memory(QemuCommand.Memory.CLONE, null).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("RAM file");
  }
}
