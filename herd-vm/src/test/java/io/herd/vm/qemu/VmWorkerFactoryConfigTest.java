package io.herd.vm.qemu;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.HerdException;
import io.herd.core.InvalidConfigException;
import io.herd.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What a factory refuses at construction, before any VM boots. */
class VmWorkerFactoryConfigTest {

  private VmTestSupport vms;

  @BeforeEach
  void image() throws Exception {
    vms = new VmTestSupport();
  }

  @AfterEach
  void cleanUp() throws Exception {
    vms.close();
  }

  @Test
  void kvmWithoutDevKvmFailsAtConstructionNamingTheKey() {
    assumeTrue(!Files.exists(Path.of("/dev/kvm")), "this host has a /dev/kvm");
    VmConfig vm = vms.vmConfig().accel(VmConfig.Accel.KVM).build();

    assertThatThrownBy(() -> vms.factory(vm))
        .isInstanceOf(HerdException.class)
        .hasMessageContaining("worker.vm.accel is kvm but KVM is unusable: no /dev/kvm");
  }

  @Test
  void cacheDirThatSandboxedWorkersCannotSeeIsRefusedWithTheKey() {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "mount namespaces need a root gateway");
    VmConfig vm = vms.vmConfig().cacheDir(Path.of("/var/tmp/herd-vm-hidden")).build();

    assertThatThrownBy(() -> vms.factory(vm))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("worker.vm.cacheDir")
        .hasMessageContaining("private copy")
        .hasMessageContaining("/var/cache/herd/vm");
  }
}
