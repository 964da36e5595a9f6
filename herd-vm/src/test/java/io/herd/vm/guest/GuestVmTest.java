package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testkit.StaticBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots real QEMU microVMs (TCG) with an initramfs of {@link Initramfs}: the guest init starts
 * the counter server as {@link GuestLaunch} says, reports its exit and powers off, and answers
 * {@code sync} and {@code term} on the control port after a snapshot restore. Few tests, each boot costs seconds
 * of both cores; every QEMU is killed after each test.
 */
class GuestVmTest {

  @TempDir Path dir;

  private final List<TestVm> vms = new ArrayList<>();
  private GuestKernel kernel;
  private Path rootfs;

  @BeforeEach
  void imageWithTheCounterServer() throws IOException {
    kernel = GuestKernelTest.defaultKernel(dir);
    rootfs = Files.createDirectories(dir.resolve("rootfs/app"));
    Files.copy(StaticBinary.counterServer(), rootfs.resolve("counter-server"));
    rootfs = rootfs.getParent();
  }

  @AfterEach
  void killEveryVm() {
    for (TestVm vm : vms) {
      vm.close();
    }
  }

  private TestVm start(Path initramfs, String name, Path ram, boolean shared, boolean incoming)
      throws IOException {
    TestVm vm = new TestVm(kernel, initramfs, dir, name, ram, shared, incoming);
    vms.add(vm);
    return vm;
  }

  @Test
  void theAppRunsAsTheLaunchSaysAndItsExitPowersTheVmOff() throws Exception {
    // argv[1] names the port, PORT says another: the server must have been given argv
    GuestLaunch launch = GuestLaunch.of(List.of("counter-server", "8080"),
        List.of("PATH=/usr/bin:/app", "GREETING=hello, guest", "PORT=9999"), "/app", 1000, 1001,
        8080);
    Path initramfs = Initramfs.build(rootfs, launch, kernel, dir.resolve("initrd.cpio"));
    TestVm vm = start(initramfs, "vm", null, false, false);

    vm.awaitHealthy();

    assertThat(vm.get("/env/GREETING")).isEqualTo("hello, guest");
    assertThat(vm.request("/env/HOME")).as("exactly the launch's env").startsWith("HTTP/1.1 404");
    assertThat(vm.get("/cwd")).isEqualTo("/app");
    assertThat(vm.get("/id")).isEqualTo("uid=1000 gid=1001");
    assertThat(vm.get("/count")).startsWith("n=1 ");
    assertThat(vm.output()).as("the app's stdout reaches the serial console")
        .contains("counter-server: listening on 8080");

    // the guest's clock keeps the host's pace (it is told the host's TSC frequency); the
    // bounds hold whatever the request latency
    long hostBefore0 = System.nanoTime();
    long guest0 = Long.parseLong(vm.get("/monotonic"));
    long hostAfter0 = System.nanoTime();
    Thread.sleep(1000);
    long hostBefore1 = System.nanoTime();
    long guest1 = Long.parseLong(vm.get("/monotonic"));
    long hostAfter1 = System.nanoTime();
    assertThat(guest1 - guest0).as("guest nanoseconds while the host saw %d..%d",
            hostBefore1 - hostAfter0, hostAfter1 - hostBefore0)
        .isBetween((long) ((hostBefore1 - hostAfter0) * 0.98),
            (long) ((hostAfter1 - hostBefore0) * 1.02));

    assertThat(vm.get("/exit/7")).isEqualTo("bye");
    assertThat(vm.awaitExit()).as("QEMU ends by itself when the guest powers off").isZero();
    assertThat(vm.output()).contains("herd-init: app exited with status 7");
  }

  @Test
  void clonesOfOneSnapshotTakeTheHostsClockAndTheirOwnEntropyFromSyncAndStopOnTerm() throws Exception {
    GuestLaunch launch = GuestLaunch.of(List.of("/app/counter-server"), List.of("PORT=8080"),
        "/", 0, 0, 8080);
    Path initramfs = Initramfs.build(rootfs, launch, kernel, dir.resolve("initrd.cpio"));
    Path ram = dir.resolve("ram");
    Path state = dir.resolve("state");
    TestVm template = start(initramfs, "template", ram, true, false);
    template.awaitHealthy();
    String first = template.get("/count");
    assertThat(first).startsWith("n=1 ");
    template.qmp(ignoreShared());
    template.qmp("{\"execute\":\"stop\"}");
    template.qmp("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > " + state + "\"}}");
    template.awaitMigration();
    template.close();

    long future = Instant.parse("2100-01-01T00:00:00Z").getEpochSecond();
    TestVm a = restore(initramfs, "a", ram, state, sync(future * 1_000_000_000L));
    TestVm b = restore(initramfs, "b", ram, state, null);
    String second = first.replace("n=1 ", "n=2 ");
    assertThat(a.get("/count")).as("the template's app state, continued").isEqualTo(second);
    assertThat(b.get("/count")).isEqualTo(second);

    long before = Instant.now().getEpochSecond();
    assertThat(b.control(sync(System.currentTimeMillis() * 1_000_000L))).matches("ok \\d+");
    long guestTime = Long.parseLong(b.get("/time"));
    long after = Instant.now().getEpochSecond();
    assertThat(guestTime).as("b's clock is the host's after sync").isBetween(before - 1, after + 1);
    assertThat(Long.parseLong(a.get("/time"))).as("a's clock is what its sync said")
        .isBetween(future, future + TestVm.PATIENCE.toSeconds());
    assertThat(a.get("/random")).matches("[0-9a-f]{32}").isNotEqualTo(b.get("/random"));
    assertThat(a.control("sync 1 nothex")).startsWith("error malformed sync");
    assertThat(a.control("reboot")).startsWith("error unknown command");

    a.process().destroy(); // SIGTERM to one clone's VMM
    assertThat(a.process().waitFor(TestVm.PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(b.get("/count")).as("the other clone lives on").isEqualTo(
        first.replace("n=1 ", "n=3 "));

    assertThat(b.control("term")).isEqualTo("ok term");
    assertThat(b.awaitExit()).as("the app's end powers the clone off").isZero();
    assertThat(b.output()).contains("herd-init: app killed by signal 15");
  }

  /**
   * A clone of the template's snapshot; {@code syncLine}, when given, is sent right after {@code
   * cont}, before the app is known to answer, as a VM factory does (the guest may see the line
   * before it sees the host connect).
   */
  private TestVm restore(Path initramfs, String name, Path ram, Path state, String syncLine)
      throws Exception {
    TestVm clone = start(initramfs, name, ram, false, true);
    clone.qmp(ignoreShared());
    clone.qmp("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat " + state
        + "\"}}");
    clone.awaitMigration();
    clone.qmp("{\"execute\":\"cont\"}");
    if (syncLine != null) {
      assertThat(clone.control(syncLine)).matches("ok \\d+");
    }
    clone.awaitHealthy();
    return clone;
  }

  private static String ignoreShared() {
    return "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
        + "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}";
  }

  private static String sync(long epochNanos) {
    byte[] seed = new byte[64];
    new SecureRandom().nextBytes(seed);
    return "sync " + epochNanos + " " + HexFormat.of().formatHex(seed);
  }
}
