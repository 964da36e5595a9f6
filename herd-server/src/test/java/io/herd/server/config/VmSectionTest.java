package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.server.VmTestFiles;
import io.herd.vm.VmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code worker.vm}: bound to herd-vm's {@link VmConfig} with paths resolved against the file's
 * directory, mutually exclusive with {@code worker.command}, and every bad value reported with
 * its line, its key and the fix.
 */
class VmSectionTest {

  @TempDir
  Path dir;
  private Path kernel;

  @BeforeEach
  void imageAndKernel() throws Exception {
    VmTestFiles.ociLayout(dir.resolve("images/app"), List.of("/app"), List.of(8080));
    kernel = VmTestFiles.pvhKernel(dir.resolve("vmlinux"));
  }

  private HerdConfig parse(String yaml) {
    return new HerdConfigLoader(Map.of()).parse("herd.yaml", yaml, dir,
        HerdConfigLoader.Overrides.NONE);
  }

  private List<String> problems(String yaml) {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> parse(yaml));
    assertThat(e).as("should be rejected:%n%s", yaml).isNotNull();
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  void everyKeyBindsWithPathsResolvedAgainstTheFilesDirectory() {
    HerdConfig c = parse("worker:\n"
        + "  vm:\n"
        + "    image: ./images/app\n"
        + "    port: 8080\n"
        + "    memory: 1g\n"
        + "    cpus: 2\n"
        + "    kernel: vmlinux\n"
        + "    accel: TCG\n"
        + "    cacheDir: cache\n"
        + "    snapshots: false\n"
        + "  health: { path: /ready }\n"
        + "  startTimeout: 20s\n");

    VmConfig vm = c.vm().orElseThrow();
    assertThat(vm.image()).isEqualTo(dir.resolve("images/app"));
    assertThat(vm.port()).hasValue(8080);
    assertThat(vm.memoryBytes()).isEqualTo(1L << 30);
    assertThat(vm.cpus()).isEqualTo(2);
    assertThat(vm.kernel()).contains(kernel);
    assertThat(vm.accel()).isEqualTo(VmConfig.Accel.TCG);
    assertThat(vm.cacheDir()).isEqualTo(dir.resolve("cache"));
    assertThat(vm.snapshots()).isFalse();
    assertThat(c.worker().command()).as("the worker process is the VMM")
        .containsExactly("qemu-system-x86_64");
    assertThat(c.worker().healthPath()).isEqualTo("/ready");
    assertThat(c.worker().startTimeout()).hasSeconds(20);
    assertThat(c.pools().get(0).vm()).contains(vm);
  }

  @Test
  void defaultsAreVmConfigsOwn() {
    HerdConfig c = parse("worker: { vm: { image: images/app, kernel: vmlinux } }\n");

    VmConfig vm = c.vm().orElseThrow();
    assertThat(vm.port()).isEmpty();
    assertThat(vm.memoryBytes()).isEqualTo(256L << 20);
    assertThat(vm.cpus()).isEqualTo(1);
    assertThat(vm.accel()).isEqualTo(VmConfig.Accel.AUTO);
    assertThat(vm.snapshots()).isTrue();
    assertThat(vm.cacheDir()).isEqualTo(VmConfig.defaultCacheDir());
  }

  @Test
  void aProgramWorkerHasNoVm() {
    assertThat(parse("worker: { command: [/bin/true] }\n").vm()).isEmpty();
  }

  @Test
  void commandAndVmTogetherIsOneErrorNamingBothLinesAndTheFix() {
    assertThat(problems("worker:\n"
        + "  command: [python3, app.py]\n"
        + "  vm: { image: images/app, kernel: vmlinux }\n"))
        .containsExactly("herd.yaml:2: worker.command and worker.vm are both set (lines 2 and"
            + " 3): a worker is a program or a microVM (expected: one of them; remove"
            + " worker.command to boot the image, or worker.vm to run the program)");
  }

  @Test
  void programOnlyKeysBesideVmAreErrorsSayingWhereTheyComeFrom() {
    assertThat(problems("worker:\n"
        + "  vm: { image: images/app, kernel: vmlinux }\n"
        + "  env: { A: b }\n"
        + "  workdir: /srv\n"))
        .containsExactly(
            "herd.yaml:3: worker.env does not apply to a microVM: its program, environment and"
                + " working directory come from its image (expected: no worker.env beside"
                + " worker.vm; set ENV or WORKDIR in the image)",
            "herd.yaml:4: worker.workdir does not apply to a microVM: its program, environment"
                + " and working directory come from its image (expected: no worker.workdir"
                + " beside worker.vm; set ENV or WORKDIR in the image)");
  }

  @Test
  void everyBadValueIsReportedAtItsLineWithTheFix() {
    assertThat(problems("worker:\n"
        + "  vm:\n"
        + "    image: ./images/nope\n"
        + "    port: 70000\n"
        + "    memory: lots\n"
        + "    cpus: 0\n"
        + "    kernel: /no/vmlinux\n"
        + "    accel: xen\n"
        + "    snapshots: maybe\n"
        + "    imgae: typo\n"))
        .containsExactly(
            "herd.yaml:3: worker.vm.image does not exist: " + dir.resolve("images/nope")
                + " (expected: an OCI image layout directory (skopeo copy docker://IMAGE"
                + " oci:DIR), or an OCI or docker-archive tarball (docker save))",
            "herd.yaml:4: worker.vm.port is out of range: 70000 (expected: 1..65535)",
            "herd.yaml:5: worker.vm.memory is not a size: lots (expected: "
                + ByteSizeFormat.EXPECTED + ")",
            "herd.yaml:6: worker.vm.cpus is out of range: 0 (expected: 1..64)",
            "herd.yaml:7: worker.vm.kernel is not a file: /no/vmlinux (expected: an"
                + " uncompressed vmlinux, or unset for the default that"
                + " herd-vm/kernel/fetch-kernel.sh fetches)",
            "herd.yaml:8: worker.vm.accel is unknown: xen (expected: auto, kvm or tcg)",
            "herd.yaml:9: worker.vm.snapshots is not a boolean: maybe (expected: true or false)",
            "herd.yaml:10: worker.vm.imgae is not a known key: did you mean worker.vm.image?"
                + " (expected in worker.vm: image, port, memory, cpus, kernel, accel, cacheDir,"
                + " snapshots)");
  }

  @Test
  void memoryTooSmallOrNotWholeMebibytesIsHerdVmsMessage() {
    assertThat(problems("worker:\n  vm:\n    image: images/app\n    memory: 32MiB\n"))
        .containsExactly("herd.yaml:4: worker.vm.memory is too small: 33554432 bytes"
            + " (expected: >= 64MiB)");
    assertThat(problems("worker:\n  vm:\n    image: images/app\n    memory: 100000KB\n"))
        .containsExactly("herd.yaml:4: worker.vm.memory is not a whole number of MiB:"
            + " 100000000 bytes (expected: a multiple of 1MiB, e.g. 256MiB)");
  }

  @Test
  void aVmWithoutImageSaysHowToGetOne() {
    assertThat(problems("worker:\n  vm:\n    memory: 256MiB\n"))
        .containsExactly("herd.yaml:2: worker.vm.image is missing: none (expected: an OCI"
            + " image layout directory, e.g. ./images/app from skopeo copy docker://IMAGE"
            + " oci:./images/app, or an OCI or docker-archive tarball from docker save)");
  }

  @Test
  void aMissingDefaultKernelIsAWarningNotAnError() {
    HerdConfig c = parse("worker:\n  vm:\n    image: images/app\n    cacheDir: empty-cache\n");

    assertThat(c.warnings()).extracting(ConfigProblem::toString).containsExactly(
        "herd.yaml:2: warning: worker.vm.kernel is not set and the default kernel is missing: "
            + dir.resolve("empty-cache/kernel/vmlinux") + " (expected at serve time: run"
            + " herd-vm/kernel/fetch-kernel.sh, or set worker.vm.kernel to a vmlinux; validation"
            + " passes since the file may be meant for another machine)");
  }

  @Test
  void aCompressedKernelOrAFileThatIsNoImageFailsValidationWithTheFix() throws Exception {
    Files.writeString(dir.resolve("vmlinuz"), "MZ not an ELF");
    Files.createDirectories(dir.resolve("empty"));

    assertThat(problems("worker:\n  vm:\n    image: empty\n    kernel: vmlinuz\n"))
        .containsExactly(
            "herd.yaml:3: worker.vm.image is not a readable image: " + dir.resolve("empty")
                + "/index.json: no such file \u2014 worker.vm.image must be an OCI image layout"
                + " directory (skopeo copy docker://IMAGE oci:DIR) or an OCI/docker-archive"
                + " tarball",
            "herd.yaml:4: worker.vm.kernel is not an ELF kernel image: " + dir.resolve("vmlinuz")
                + " (expected: an uncompressed vmlinux with a PVH entry; run"
                + " herd-vm/kernel/fetch-kernel.sh to get Debian's cloud kernel as one)");
  }

  @Test
  void anImageThatExposesNoSinglePortNeedsWorkerVmPort() throws Exception {
    VmTestFiles.ociLayout(dir.resolve("two"), List.of("/app"), List.of(80, 443));
    VmTestFiles.ociLayout(dir.resolve("idle"), List.of(), List.of(80));

    assertThat(problems("worker:\n  vm:\n    image: two\n    kernel: vmlinux\n"))
        .containsExactly("herd.yaml:2: worker.vm.port is not set and the image exposes several:"
            + " [80, 443]: " + dir.resolve("two") + " (expected: worker.vm.port: the guest port"
            + " the app listens on)");
    assertThat(parse("worker:\n  vm: { image: two, kernel: vmlinux, port: 443 }\n").vm()
        .orElseThrow().port()).hasValue(443);
    assertThat(problems("worker:\n  vm:\n    image: idle\n    kernel: vmlinux\n"))
        .containsExactly("herd.yaml:3: worker.vm.image runs nothing: " + dir.resolve("idle")
            + " has neither Entrypoint nor Cmd (expected: an image with ENTRYPOINT or CMD)");
  }

  @Test
  void eachPoolOfSeveralMayBeVmsOrPrograms() {
    HerdConfig c = parse("pools:\n"
        + "  - name: vms\n"
        + "    match: { pathPrefix: /vm }\n"
        + "    worker: { vm: { image: images/app, kernel: vmlinux } }\n"
        + "  - name: procs\n"
        + "    worker: { command: [/bin/true] }\n");

    assertThat(c.pools().get(0).vm()).isPresent();
    assertThat(c.pools().get(1).vm()).isEmpty();
    assertThat(problems("pools:\n"
        + "  - name: vms\n"
        + "    worker: { vm: { image: images/app, kernel: vmlinux, cpus: 0 } }\n"))
        .containsExactly("herd.yaml:3: pools[0].worker.vm.cpus is out of range: 0 (expected:"
            + " 1..64)");
  }

  @Test
  void suspendAfterBindsForMicroVmsAndIsAnErrorForPrograms() {
    HerdConfig c = parse("worker: { vm: { image: images/app, kernel: vmlinux } }\n"
        + "pool: { suspendAfter: 90s, ttl: 10m }\n");
    assertThat(c.pool().suspendAfter()).contains(java.time.Duration.ofSeconds(90));

    assertThat(problems("worker: { command: [/bin/true] }\npool:\n  suspendAfter: 2m\n"))
        .containsExactly("herd.yaml:3: pool.suspendAfter needs workers whose state can be saved,"
            + " and program workers cannot be: 2m (expected: worker.vm, or no pool.suspendAfter)");
    assertThat(problems("worker: { vm: { image: images/app, kernel: vmlinux } }\n"
        + "pool:\n  ttl: 1m\n  suspendAfter: 5m\n"))
        .singleElement().asString().startsWith("herd.yaml:4: pool.suspendAfter is not shorter"
            + " than pool.ttl");
  }

  @Test
  void aSandboxMemoryLimitWithoutRoomForTheGuestIsAWarning() {
    HerdConfig c = parse("worker:\n  vm:\n    image: images/app\n    kernel: vmlinux\n"
        + "    memory: 512MiB\nsandbox: { memory: 512MiB }\n");

    assertThat(c.warnings()).extracting(ConfigProblem::toString).containsExactly(
        "herd.yaml:5: warning: sandbox.memory is 512MiB, which leaves QEMU no room beside"
            + " worker.vm.memory 512MiB (expected: sandbox.memory >= 576MiB, the guest's RAM and"
            + " about 64MiB for QEMU, or a smaller worker.vm.memory)");
    assertThat(parse("worker: { vm: { image: images/app, kernel: vmlinux } }\n").warnings())
        .as("the default limit, 1GiB, has room for the default 256MiB guest").isEmpty();
  }
}
