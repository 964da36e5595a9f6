package io.herd.vm.guest;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Streams a cpio archive in the "newc" format (magic {@code 070701}), the format the Linux kernel
 * unpacks as an initramfs: directories, regular files, symbolic links and device or FIFO nodes,
 * each with its permission bits, owner, group and modification time, then the {@code TRAILER!!!}
 * entry ({@link #finish()}). Pure Java, no {@code cpio} binary.
 *
 * <p>Entries are written in the order they are given; the kernel creates each as it reads it, so
 * a directory must come before what it holds. Every entry gets an inode number of its own and a
 * link count of 1 (2 for directories): hard links are written as separate copies, which the kernel
 * accepts and which keeps the writer free of look-ahead. Names are relative ({@code usr/bin/x},
 * no leading slash), as the kernel expects.
 *
 * <p>Not thread-safe; one archive per instance. Closing closes the stream without a trailer if
 * {@link #finish()} was not called.
 */
public final class CpioWriter implements Closeable {

  /** {@code S_IFMT} and the file types of {@code st_mode}. */
  public static final int S_IFMT = 0170000;
  public static final int S_IFDIR = 0040000;
  public static final int S_IFREG = 0100000;
  public static final int S_IFLNK = 0120000;
  public static final int S_IFCHR = 0020000;
  public static final int S_IFBLK = 0060000;
  public static final int S_IFIFO = 0010000;

  private static final String MAGIC = "070701";
  private static final int HEADER_LENGTH = 110;
  private static final byte[] ZEROS = new byte[4];

  /** Owner, group and modification time of an entry. */
  public record Owner(int uid, int gid, long mtimeSeconds) {
    /** root:root, at the Unix epoch: for entries with no file behind them. */
    public static final Owner ROOT = new Owner(0, 0, 0);

    public Owner {
      if (uid < 0 || gid < 0 || mtimeSeconds < 0 || mtimeSeconds > 0xffffffffL) {
        throw new IllegalArgumentException("cpio owner out of range: uid " + uid + ", gid " + gid
            + ", mtime " + mtimeSeconds + " (expected: uid, gid >= 0; mtime 0..2^32-1)");
      }
    }
  }

  private final OutputStream out;
  private long written;
  private int nextInode = 1;
  private boolean finished;

  /** A writer onto {@code out}, which it does not buffer: give it a buffered stream. */
  public CpioWriter(OutputStream out) {
    this.out = out;
  }

  /** A directory; {@code permissions} are the low 12 mode bits (e.g. {@code 0755}). */
  public void directory(String name, int permissions, Owner owner) throws IOException {
    header(name, S_IFDIR | permissions(permissions), owner, 2, 0, 0);
  }

  /** A regular file of {@code size} bytes, read from {@code content} (exactly that many). */
  public void file(String name, int permissions, Owner owner, long size, InputStream content)
      throws IOException {
    if (size < 0 || size > 0xffffffffL) {
      throw new IOException("cpio newc holds files up to 4 GiB: " + name + " has " + size
          + " bytes");
    }
    header(name, S_IFREG | permissions(permissions), owner, 1, size, 0);
    byte[] buffer = new byte[64 * 1024];
    long left = size;
    while (left > 0) {
      int n = content.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (n < 0) {
        throw new IOException(name + " ended after " + (size - left) + " of " + size
            + " bytes (changed while archived?)");
      }
      out.write(buffer, 0, n);
      left -= n;
    }
    written += size;
    pad();
  }

  /** A regular file holding {@code content}. */
  public void file(String name, int permissions, Owner owner, byte[] content) throws IOException {
    file(name, permissions, owner, content.length, new java.io.ByteArrayInputStream(content));
  }

  /** A symbolic link to {@code target}; its data is the target, without a terminating NUL. */
  public void symlink(String name, String target, Owner owner) throws IOException {
    byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
    header(name, S_IFLNK | 0777, owner, 1, bytes.length, 0);
    out.write(bytes);
    written += bytes.length;
    pad();
  }

  /**
   * A character or block device or a FIFO: {@code mode} holds the type ({@link #S_IFCHR}, {@link
   * #S_IFBLK}, {@link #S_IFIFO}) and the permissions; {@code rdev} is the Linux device number.
   */
  public void node(String name, int mode, long rdev, Owner owner) throws IOException {
    int type = mode & S_IFMT;
    if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO) {
      throw new IllegalArgumentException(name + ": not a device or FIFO mode: 0"
          + Integer.toOctalString(mode));
    }
    header(name, type | permissions(mode & 07777), owner, 1, 0, rdev);
  }

  /** Writes the {@code TRAILER!!!} entry that ends the archive, and flushes. */
  public void finish() throws IOException {
    if (!finished) {
      finished = true;
      writeHeader("TRAILER!!!", 0, Owner.ROOT, 1, 0, 0, 0);
      out.flush();
    }
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  private void header(String name, int mode, Owner owner, int links, long size, long rdev)
      throws IOException {
    if (finished) {
      throw new IllegalStateException("the archive is finished; cannot add " + name);
    }
    if (name.isEmpty() || name.startsWith("/") || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("cpio entry name must be relative, non-empty, without"
          + " NUL: \"" + name + "\"");
    }
    writeHeader(name, mode, owner, links, size, rdev, nextInode++);
  }

  private void writeHeader(String name, int mode, Owner owner, int links, long size, long rdev,
      int inode) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    StringBuilder header = new StringBuilder(HEADER_LENGTH).append(MAGIC);
    hex(header, inode);
    hex(header, mode);
    hex(header, owner.uid());
    hex(header, owner.gid());
    hex(header, links);
    hex(header, owner.mtimeSeconds());
    hex(header, size);
    hex(header, 0); // devmajor, devminor: of the archived file system; the kernel ignores them
    hex(header, 0);
    hex(header, major(rdev));
    hex(header, minor(rdev));
    hex(header, nameBytes.length + 1L);
    hex(header, 0); // check: only for the "070702" variant
    out.write(header.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(nameBytes);
    out.write(0);
    written += HEADER_LENGTH + nameBytes.length + 1;
    pad();
  }

  /** Linux's {@code major()} of a device number, as {@code stat} reports it. */
  static long major(long rdev) {
    return ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & 0xfffff000L);
  }

  /** Linux's {@code minor()} of a device number. */
  static long minor(long rdev) {
    return (rdev & 0xff) | ((rdev >>> 12) & 0xffffff00L);
  }

  private static int permissions(int permissions) {
    if ((permissions & ~07777) != 0) {
      throw new IllegalArgumentException("permissions beyond 07777: 0"
          + Integer.toOctalString(permissions));
    }
    return permissions;
  }

  private static void hex(StringBuilder header, long value) {
    String digits = Long.toHexString(value & 0xffffffffL);
    header.append("00000000", digits.length(), 8).append(digits);
  }

  /** newc aligns every header and every file's data to 4 bytes. */
  private void pad() throws IOException {
    int padding = (int) ((4 - (written & 3)) & 3);
    out.write(ZEROS, 0, padding);
    written += padding;
  }
}
