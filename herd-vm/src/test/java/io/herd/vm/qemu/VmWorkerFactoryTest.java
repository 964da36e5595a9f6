package io.herd.vm.qemu;

import static io.herd.vm.qemu.VmTestSupport.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.Worker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Real QEMU microVMs under TCG: cold boots, clones of a template, crashes and stops. */
class VmWorkerFactoryTest {

  private VmTestSupport vms;

  @AfterEach
  void cleanUp() throws Exception {
    if (vms != null) {
      vms.close();
    }
  }

  @Test
  void coldBootedVmServesThroughItsForwardedPort() throws Exception {
    vms = new VmTestSupport();
    VmWorkerFactory factory = vms.factory(vms.vmConfig().snapshots(false).build());

    long start = System.nanoTime();
    Worker worker = vms.spawn(factory, "w-1");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(((VmWorker) worker).start()).isEqualTo(VmWorker.Start.COLD);
    assertThat(get(worker, "/count")).contains("n=");
    assertThat(worker.checkHealth(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isTrue();
    System.out.println("cold boot to healthy: " + millis + " ms; " + worker);
  }

  @Test
  void clonesContinueTheTemplatesStateAndAreIndependentOfEachOther() throws Exception {
    vms = new VmTestSupport();
    VmWorkerFactory factory = vms.factory(vms.vmConfig().build());

    Worker a = vms.spawn(factory, "w-a");
    long start = System.nanoTime();
    Worker b = vms.spawn(factory, "w-b");
    long cloneMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(((VmWorker) a).start()).isEqualTo(VmWorker.Start.CLONE);
    assertThat(((VmWorker) b).start()).isEqualTo(VmWorker.Start.CLONE);
    assertThat(VmTestSupport.qemu(a).pid()).isNotEqualTo(VmTestSupport.qemu(b).pid());
    System.out.println("a " + get(a, "/count") + " b " + get(b, "/count") + " a " + get(a, "/count"));
    System.out.println("clone to healthy: " + cloneMillis + " ms");
  }
}
