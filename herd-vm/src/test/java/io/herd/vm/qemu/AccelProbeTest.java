package io.herd.vm.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.core.HerdException;
import io.herd.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The accelerator decision; the probe boot itself needs a /dev/kvm, which CI hosts lack. */
class AccelProbeTest {

  private static final Path QEMU = Path.of("qemu-system-x86_64");
  private static final Path NO_KVM = Path.of("/nonexistent/kvm");

  @Test
  void autoWithoutDevKvmIsTcgWithTheReason() {
    AccelChoice choice = new AccelProbe(NO_KVM, QEMU).decide(VmConfig.Accel.AUTO,
        VmTestSupport.KERNEL);

    assertThat(choice.accel()).isEqualTo(VmConfig.Accel.TCG);
    assertThat(choice.reason()).isEqualTo("no /nonexistent/kvm");
    assertThat(choice.qemuName()).isEqualTo("tcg");
  }

  @Test
  void kvmWithoutDevKvmFailsNamingTheKeyAndTheFix() {
    assertThatThrownBy(() -> new AccelProbe(NO_KVM, QEMU).quickDecide(VmConfig.Accel.KVM))
        .isInstanceOf(HerdException.class)
        .hasMessageContaining("worker.vm.accel is kvm")
        .hasMessageContaining("no /nonexistent/kvm")
        .hasMessageContaining("auto or tcg");
  }

  @Test
  void tcgIsTakenAsAskedWithoutLookingAtKvm() {
    AccelChoice choice = new AccelProbe(NO_KVM, QEMU).quickDecide(VmConfig.Accel.TCG);

    assertThat(choice).isEqualTo(new AccelChoice(VmConfig.Accel.TCG, "worker.vm.accel is tcg"));
  }

  @Test
  void autoOnThisHostWithoutKvmIsTcgBecauseThereIsNoDevKvm() {
    assumeTrue(!Files.exists(Path.of("/dev/kvm")), "this host has a /dev/kvm");

    AccelChoice choice = new AccelProbe().decide(VmConfig.Accel.AUTO, VmTestSupport.KERNEL);

    assertThat(choice.toString()).isEqualTo("tcg (no /dev/kvm)");
  }

  @Test
  void devKvmThatOpensIsProbedAtStartSaysQuickDecide() throws Exception {
    Path fake = Files.createTempFile("fake-kvm", "");
    try {
      AccelChoice choice = new AccelProbe(fake, QEMU).quickDecide(VmConfig.Accel.AUTO);

      assertThat(choice.accel()).isEqualTo(VmConfig.Accel.KVM);
      assertThat(choice.reason()).contains("KVM will be probed at start");
    } finally {
      Files.delete(fake);
    }
  }

  @Test
  void unusableKvmUnderAutoFallsBackToTcgWithTheProbesFailure() throws Exception {
    // a regular file for /dev/kvm: it opens, but QEMU cannot use it, so the probe boot fails
    Path fake = Files.createTempFile("fake-kvm", "");
    try {
      AccelChoice choice = new AccelProbe(fake, QEMU).decide(VmConfig.Accel.AUTO,
          VmTestSupport.KERNEL);

      assertThat(choice.accel()).isEqualTo(VmConfig.Accel.TCG);
      assertThat(choice.reason()).contains("opens but KVM is unusable");
    } finally {
      Files.delete(fake);
    }
  }
}
