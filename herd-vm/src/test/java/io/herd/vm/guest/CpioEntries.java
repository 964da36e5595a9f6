package io.herd.vm.guest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a newc cpio archive back, checking what the kernel's initramfs unpacker relies on: the
 * magic, 4-byte alignment of headers and data, the name's terminating NUL, and the trailer last.
 * An independent reader, not CpioWriter's code run backwards.
 */
final class CpioEntries {

  record Entry(String name, int inode, int mode, int uid, int gid, int links, long mtime,
      int rdevMajor, int rdevMinor, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  private CpioEntries() {}

  /** The entries of {@code archive} before its trailer. */
  static List<Entry> read(byte[] archive) {
    List<Entry> entries = new ArrayList<>();
    int at = 0;
    while (true) {
      if (at % 4 != 0) {
        throw new AssertionError("header at " + at + " is not 4-byte aligned");
      }
      String magic = new String(archive, at, 6, StandardCharsets.US_ASCII);
      if (!magic.equals("070701")) {
        throw new AssertionError("bad magic at " + at + ": " + magic);
      }
      long[] f = new long[13];
      for (int i = 0; i < 13; i++) {
        f[i] = Long.parseLong(new String(archive, at + 6 + 8 * i, 8, StandardCharsets.US_ASCII),
            16);
      }
      int nameSize = (int) f[11];
      if (archive[at + 110 + nameSize - 1] != 0) {
        throw new AssertionError("name at " + at + " is not NUL-terminated");
      }
      String name = new String(archive, at + 110, nameSize - 1, StandardCharsets.UTF_8);
      int dataAt = align(at + 110 + nameSize);
      int size = (int) f[6];
      byte[] data = Arrays.copyOfRange(archive, dataAt, dataAt + size);
      at = align(dataAt + size);
      if (name.equals("TRAILER!!!")) {
        if (at != archive.length) {
          throw new AssertionError("bytes after the trailer: " + (archive.length - at));
        }
        return entries;
      }
      entries.add(new Entry(name, (int) f[0], (int) f[1], (int) f[2], (int) f[3], (int) f[4],
          f[5], (int) f[9], (int) f[10], data));
    }
  }

  private static int align(int n) {
    return (n + 3) & ~3;
  }
}
