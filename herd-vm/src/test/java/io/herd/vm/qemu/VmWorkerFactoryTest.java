package io.herd.vm.qemu;

import static io.herd.vm.qemu.VmTestSupport.count;
import static io.herd.vm.qemu.VmTestSupport.qemu;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerExit;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Real QEMU microVMs under TCG from one snapshot factory: clones of its template, crash, stop,
 * suspend and resume. One factory for the class, so the template boots once (each boot costs
 * about two seconds of both cores); every test starts its own clones and the class kills them
 * all. Times are printed, not asserted (bench/vm.sh measures them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VmWorkerFactoryTest {

  private VmTestSupport vms;
  private VmWorkerFactory factory;

  @BeforeAll
  void startFactory() throws Exception {
    vms = new VmTestSupport();
    factory = vms.factory(vms.vmConfig().build());
  }

  @AfterAll
  void cleanUp() throws Exception {
    vms.close();
  }

  @Test
  void clonesContinueTheTemplatesStateAndAreIndependentOfEachOther() throws Exception {
    Worker a = vms.spawn(factory, "w-a");
    long start = System.nanoTime();
    Worker b = vms.spawn(factory, "w-b");
    System.out.println("clone to healthy: "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");

    assertThat(((VmWorker) a).start()).isEqualTo(VmWorker.Start.CLONE);
    assertThat(((VmWorker) b).start()).isEqualTo(VmWorker.Start.CLONE);
    assertThat(qemu(a).pid()).as("two QEMU processes").isNotEqualTo(qemu(b).pid());
    VmTestSupport.Count a1 = count(a);
    VmTestSupport.Count b1 = count(b);
    assertThat(b1.boot()).as("both clones run the template's app process, started once")
        .isEqualTo(a1.boot());
    VmTestSupport.Count a2 = count(a);
    VmTestSupport.Count a3 = count(a);
    VmTestSupport.Count b2 = count(b);
    assertThat(a3.n() - a1.n()).as("a's counter counts a's requests").isEqualTo(2);
    assertThat(b2.n() - b1.n()).as("b's counter does not see a's requests").isEqualTo(1);
    assertThat(a2.n()).isEqualTo(a1.n() + 1);
    assertThat(VmTestSupport.get(a, "/random"))
        .as("the clones' CRNGs were reseeded apart (without sync they draw the same bytes)")
        .isNotEqualTo(VmTestSupport.get(b, "/random"));
    long hostSeconds = System.currentTimeMillis() / 1000;
    assertThat(Long.parseLong(VmTestSupport.get(b, "/time")))
        .as("the clone's clock is the host's, not the template's")
        .isBetween(hostSeconds - 5, hostSeconds + 5);
  }

  @Test
  void killedQemuEndsTheWorkerAsACrash() throws Exception {
    Worker worker = vms.spawn(factory, "w-crash");

    qemu(worker).destroyForcibly();
    WorkerExit exit = worker.onExit().get(30, TimeUnit.SECONDS);

    assertThat(exit.requested()).as("nobody asked it to stop: a crash").isFalse();
    assertThat(worker.checkHealth(Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS)).isFalse();
  }

  @Test
  void stopEndsQemuOnSigtermWithoutWaitingForTheGracePeriod() throws Exception {
    Worker worker = vms.spawn(factory, "w-stop");

    WorkerExit exit = worker.stop().get(30, TimeUnit.SECONDS);

    assertThat(exit.requested()).isTrue();
    assertThat(exit.detail()).as("QEMU exits on SIGTERM; no SIGKILL after the stop timeout")
        .doesNotContain("SIGKILL after");
  }

  @Test
  void resumedVmKeepsItsCounterAndItsStateFileIsGone() throws Exception {
    Worker worker = vms.spawn(factory, "w-sus");
    count(worker);
    VmTestSupport.Count before = count(worker);

    SuspendedWorker state = factory.suspend(worker).get(60, TimeUnit.SECONDS);
    assertThat(worker.onExit()).as("the QEMU process has gone").isDone();
    SuspendedVm saved = (SuspendedVm) state;
    assertThat(Files.getPosixFilePermissions(saved.file()))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(state.sizeBytes()).isPositive();
    long start = System.nanoTime();
    Worker resumed = vms.track(factory.resume(state, "w-sus-2").get(60, TimeUnit.SECONDS));
    System.out.println("resume to healthy: "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms; state "
        + (state.sizeBytes() >> 10) + " KiB");

    VmTestSupport.Count after = count(resumed);
    assertThat(((VmWorker) resumed).start()).isEqualTo(VmWorker.Start.RESUME);
    assertThat(after.boot()).as("the same app process").isEqualTo(before.boot());
    assertThat(after.n()).as("the counter goes on").isGreaterThan(before.n());
    assertThat(saved.file()).as("the state file is consumed").doesNotExist();
  }
}
