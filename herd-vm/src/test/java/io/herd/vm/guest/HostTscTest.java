package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HostTscTest {

  @Test
  void measuresAPlausibleFrequencyOnceAndTheKernelIsToldIt() {
    long khz = HostTsc.khz();

    assertThat(khz).as("x86 TSCs tick between 100 MHz and 10 GHz").isBetween(100_000L,
        10_000_000L);
    assertThat(HostTsc.khz()).as("measured once per JVM").isEqualTo(khz);
    assertThat(GuestKernelTest.defaultKernel(java.nio.file.Path.of("/")).commandLine())
        .contains("tsc_early_khz=" + khz)
        .doesNotContain("tsc_early_khz=1000000");
  }
}
