package io.herd.vm.qemu;

import static io.herd.vm.qemu.VmTestSupport.count;
import static io.herd.vm.qemu.VmTestSupport.qemu;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.Worker;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Without snapshots every VM boots its kernel: two workers are two guests of their own. */
class VmColdBootTest {

  private VmTestSupport vms;

  @AfterEach
  void cleanUp() throws Exception {
    vms.close();
  }

  @Test
  void twoColdBootedWorkersAreTwoQemuProcessesWithTheirOwnCounters() throws Exception {
    vms = new VmTestSupport();
    VmWorkerFactory factory = vms.factory(vms.vmConfig().snapshots(false).build());

    long start = System.nanoTime();
    Worker a = vms.spawn(factory, "w-1");
    System.out.println("cold boot to healthy: "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
    Worker b = vms.spawn(factory, "w-2");

    assertThat(((VmWorker) a).start()).isEqualTo(VmWorker.Start.COLD);
    assertThat(qemu(a).pid()).isNotEqualTo(qemu(b).pid());
    assertThat(qemu(a).info().command().orElse("")).contains("qemu-system-x86_64");
    assertThat(a.address()).isNotEqualTo(b.address());
    VmTestSupport.Count a1 = count(a);
    VmTestSupport.Count b1 = count(b);
    VmTestSupport.Count a2 = count(a);
    VmTestSupport.Count b2 = count(b);
    assertThat(a2.n() - a1.n()).as("b's request did not reach a").isEqualTo(1);
    assertThat(b2.n() - b1.n()).isEqualTo(1);
  }
}
