package io.herd.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.testkit.OciImageBuilder;
import io.herd.testkit.OciImageBuilder.Entry;
import io.herd.vm.image.VmImageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** From config to boot image without the gateway: what an embedding application calls. */
class PreparedImageTest {

  private static final Path KERNEL = Path.of("/var/cache/herd/vm/kernel/vmlinux");

  @TempDir Path dir;

  @Test
  void anImageBecomesAnInitramfsOwnedByThePreparedImage() throws IOException {
    Path image = OciImageBuilder.create()
        .layer(Entry.dir("app", 0755),
            Entry.file("app/run", "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), 0755))
        .entrypoint("/app/run")
        .exposedPorts("9000/tcp")
        .writeOciLayout(dir.resolve("image"));
    VmConfig vm = VmConfig.builder().image(image).kernel(KERNEL).cacheDir(dir.resolve("cache"))
        .build();

    Path initrd;
    try (PreparedImage prepared = PreparedImage.prepare(vm)) {
      initrd = prepared.boot().initrd();
      assertThat(prepared.boot().guestPort()).isEqualTo(9000);
      assertThat(prepared.boot().kernel()).isEqualTo(KERNEL);
      assertThat(prepared.boot().key()).startsWith(prepared.image().digest().replace(':', '-'));
      assertThat(initrd).isRegularFile().startsWith(dir.resolve("cache").resolve("initrd"));
      // sandboxed QEMUs run under UIDs of their own and must read it
      assertThat(Files.getPosixFilePermissions(initrd)).contains(PosixFilePermission.OTHERS_READ);
      assertThat(new String(Files.readAllBytes(initrd), StandardCharsets.ISO_8859_1))
          .contains(".herd/init").contains("app/run").contains("TRAILER!!!");
    }
    assertThat(initrd).doesNotExist();
  }

  @Test
  void anImageWithoutOnePortAndNoPortSetNamesTheKeyToSet() throws IOException {
    Path image = OciImageBuilder.create()
        .layer(Entry.file("run", "x".getBytes(StandardCharsets.UTF_8), 0755))
        .entrypoint("/run")
        .exposedPorts("80/tcp", "443/tcp")
        .writeOciLayout(dir.resolve("image"));
    VmConfig vm = VmConfig.builder().image(image).kernel(KERNEL).cacheDir(dir.resolve("cache"))
        .build();

    assertThatThrownBy(() -> PreparedImage.prepare(vm))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("worker.vm.port");
    try (var left = Files.list(dir.resolve("cache"))) {
      assertThat(left.map(p -> p.getFileName().toString())).doesNotContain("initrd");
    } catch (java.nio.file.NoSuchFileException e) {
      // nothing was written at all: fine
    }
  }
}
