package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.vm.guest.CpioEntries.Entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitramfsTest {

  @TempDir Path dir;

  @Test
  void holdsTheRootfsAsOnDiskPlusInitModulesAndLaunchDeterministically() throws IOException {
    Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
    Files.createDirectories(rootfs.resolve("usr/bin"));
    Path tool = Files.writeString(rootfs.resolve("usr/bin/tool"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-x---"));
    Files.setLastModifiedTime(tool, FileTime.fromMillis(1_600_000_000_000L));
    Files.createSymbolicLink(rootfs.resolve("bin"), Path.of("usr/bin"));
    Files.createDirectories(rootfs.resolve(".herd"));
    Files.writeString(rootfs.resolve(".herd/init"), "the image's, not ours");
    GuestKernel kernel = GuestKernelTest.defaultKernel(dir);
    GuestLaunch launch = GuestLaunch.of(List.of("tool"), List.of("PATH=/bin"), "/", 0, 0, 80);

    Path out = Initramfs.build(rootfs, launch, kernel, dir.resolve("out/initrd.cpio"));
    byte[] archive = Files.readAllBytes(out);

    List<Entry> entries = CpioEntries.read(archive);
    assertThat(entries).extracting(Entry::name).containsSubsequence("bin", "usr", "usr/bin",
        "usr/bin/tool", "dev", "dev/console", ".herd", ".herd/init", ".herd/modules");
    Map<String, Entry> byName =
        entries.stream().collect(Collectors.toMap(Entry::name, Function.identity()));
    assertThat(byName.get("usr/bin/tool").mode()).isEqualTo(0100750);
    assertThat(byName.get("usr/bin/tool").mtime()).isEqualTo(1_600_000_000L);
    assertThat(byName.get("usr/bin/tool").text()).isEqualTo("#!/bin/sh\n");
    assertThat(byName.get("bin").text()).isEqualTo("usr/bin");
    assertThat(byName.get("dev/console").mode()).isEqualTo(0020600);
    assertThat(byName.get("dev/console").rdevMajor()).isEqualTo(5);
    assertThat(byName.get(".herd/init").data()).isEqualTo(Initramfs.initBinary());
    assertThat(byName.get(".herd/init").mode()).isEqualTo(0100755);
    assertThat(entries).filteredOn(e -> e.name().equals(".herd/init")).hasSize(1);
    assertThat(byName.get(".herd/launch").data()).isEqualTo(launch.encode());
    assertThat(byName.get(".herd/launch").mode()).as("env may hold secrets").isEqualTo(0100400);
    String order = byName.get(".herd/modules/order").text();
    assertThat(order.lines()).containsExactlyElementsOf(
        kernel.modules().stream().map(p -> p.getFileName().toString()).toList());
    for (Path module : kernel.modules()) {
      assertThat(byName.get(".herd/modules/" + module.getFileName()).data())
          .isEqualTo(Files.readAllBytes(module));
    }

    Path again = Initramfs.build(rootfs, launch, kernel, dir.resolve("again.cpio"));
    assertThat(Files.readAllBytes(again)).as("same input, same bytes").isEqualTo(archive);
    try (var leftovers = Files.list(out.getParent())) {
      assertThat(leftovers).as("no temporary file left").containsExactly(out);
    }
  }
}
