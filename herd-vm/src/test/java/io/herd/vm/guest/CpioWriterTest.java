package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.vm.guest.CpioEntries.Entry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpioWriterTest {

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final CpioWriter cpio = new CpioWriter(bytes);
  private final CpioWriter.Owner owner = new CpioWriter.Owner(1000, 100, 1_700_000_000L);

  @Test
  void writesEveryKindOfEntryWithItsMetadataAlignedAndTerminated() throws IOException {
    cpio.directory("app", 0755, owner);
    cpio.file("app/a", 0640, owner, "x".getBytes(StandardCharsets.UTF_8)); // 1 byte: padding
    cpio.file("app/run", 04755, CpioWriter.Owner.ROOT, 5,
        new ByteArrayInputStream("hello".getBytes(StandardCharsets.UTF_8)));
    cpio.symlink("app/link", "../usr/bin/x", owner);
    cpio.node("dev/null", CpioWriter.S_IFCHR | 0666, (1L << 8) | 3, CpioWriter.Owner.ROOT);
    cpio.node("app/fifo", CpioWriter.S_IFIFO | 0600, 0, owner);
    cpio.finish();

    List<Entry> entries = CpioEntries.read(bytes.toByteArray());
    assertThat(entries).extracting(Entry::name)
        .containsExactly("app", "app/a", "app/run", "app/link", "dev/null", "app/fifo");
    assertThat(entries).extracting(Entry::inode).doesNotHaveDuplicates();
    Entry dir = entries.get(0);
    assertThat(dir.mode()).isEqualTo(0040755);
    assertThat(dir.links()).isEqualTo(2);
    assertThat(dir.uid()).isEqualTo(1000);
    assertThat(dir.gid()).isEqualTo(100);
    assertThat(dir.mtime()).isEqualTo(1_700_000_000L);
    assertThat(entries.get(1).mode()).isEqualTo(0100640);
    assertThat(entries.get(1).text()).isEqualTo("x");
    assertThat(entries.get(2).mode()).as("setuid kept").isEqualTo(0104755);
    assertThat(entries.get(2).text()).isEqualTo("hello");
    assertThat(entries.get(3).mode()).isEqualTo(0120777);
    assertThat(entries.get(3).text()).as("a link's data is its target").isEqualTo("../usr/bin/x");
    assertThat(entries.get(4).mode()).isEqualTo(0020666);
    assertThat(entries.get(4).rdevMajor()).isEqualTo(1);
    assertThat(entries.get(4).rdevMinor()).isEqualTo(3);
    assertThat(entries.get(5).mode()).isEqualTo(0010600);
  }

  @Test
  void anEmptyArchiveIsJustTheTrailer() throws IOException {
    cpio.finish();
    cpio.finish(); // idempotent

    assertThat(CpioEntries.read(bytes.toByteArray())).isEmpty();
    assertThat(bytes.size()).isEqualTo(124); // 110 + "TRAILER!!!\0" (11), padded to 4
  }

  @Test
  void splitsLinuxDeviceNumbersAsGlibcMakedevBuildsThem() {
    long[][] cases = {{1, 3}, {5, 1}, {259, 17}, {0xfff, 0xff}, {0x1000, 0x100}, {0xabcde, 0x12345}};
    for (long[] c : cases) {
      long rdev = makedev(c[0], c[1]);
      assertThat(CpioWriter.major(rdev)).as("major of %x", rdev).isEqualTo(c[0]);
      assertThat(CpioWriter.minor(rdev)).as("minor of %x", rdev).isEqualTo(c[1]);
    }
  }

  /** glibc's {@code makedev} (sys/sysmacros.h). */
  private static long makedev(long major, long minor) {
    return ((major & 0xfff) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xff)
        | ((minor & ~0xffL) << 12);
  }

  @Test
  void refusesWhatTheKernelCouldNotUnpack() throws IOException {
    assertThatThrownBy(() -> cpio.directory("/abs", 0755, owner))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relative");
    assertThatThrownBy(() -> cpio.file("big", 010644, owner, new byte[0]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("07777");
    assertThatThrownBy(() -> cpio.file("short", 0644, owner, 10,
        new ByteArrayInputStream(new byte[3])))
        .isInstanceOf(IOException.class).hasMessageContaining("short ended after 3 of 10 bytes");
    assertThatThrownBy(() -> cpio.node("f", CpioWriter.S_IFREG | 0644, 0, owner))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CpioWriter.Owner(-1, 0, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("uid -1");
    cpio.finish();
    assertThatThrownBy(() -> cpio.directory("late", 0755, owner))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("finished");
  }
}
