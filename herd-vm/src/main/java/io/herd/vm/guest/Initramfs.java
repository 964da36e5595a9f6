package io.herd.vm.guest;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds a guest's initramfs: one cpio archive ({@link CpioWriter}) that the kernel unpacks into
 * its RAM-backed root file system and that therefore is the whole guest file system — every file
 * of the unpacked image as it is on disk, plus herd-vm's own files under {@code /.herd}:
 *
 * <ul>
 *   <li>{@code /.herd/init}: the guest init ({@code herd-vm-init}, from this jar), run by the
 *       kernel argument {@code rdinit=/.herd/init} ({@link GuestKernel#commandLine()});
 *   <li>{@code /.herd/modules/*.ko} and {@code /.herd/modules/order}: the kernel's modules
 *       ({@link GuestKernel#modules()}), which the init loads in that order;
 *   <li>{@code /.herd/launch}: what the init starts ({@link GuestLaunch#encode()}).
 * </ul>
 *
 * <p>The image's own {@code /.herd}, if any, is left out. {@code /dev} and {@code /dev/console}
 * are added when the image lacks them, so that the kernel can give the init its console before
 * devtmpfs is mounted. Owners are kept when the JVM runs as root (it could have unpacked them);
 * otherwise every entry belongs to root, as the files would in a container. The order is
 * deterministic (names sorted, directories before their content), so one input gives the same
 * bytes. Sockets are left out: they mean nothing in an archive. Stateless.
 */
public final class Initramfs {

  /** The guest init in this jar; the build appends {@code os.arch}. */
  static final String INIT_RESOURCE = "/io/herd/vm/herd-vm-init-";

  private static final int S_IFSOCK = 0140000;
  private static final long CONSOLE_RDEV = (5L << 8) | 1; // c 5:1

  private Initramfs() {}

  /**
   * Writes the initramfs of {@code rootfsDir} booting {@code launch} with {@code kernel}'s
   * modules to {@code out}: into a temporary file beside it, renamed over {@code out} when
   * complete, so a reader never sees half an archive.
   *
   * @return {@code out}
   * @throws IOException when a file cannot be read or the archive cannot be written
   */
  public static Path build(Path rootfsDir, GuestLaunch launch, GuestKernel kernel, Path out)
      throws IOException {
    if (!Files.isDirectory(rootfsDir)) {
      throw new IOException("root file system " + rootfsDir + " is not a directory");
    }
    byte[] init = initBinary();
    Path dir = out.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".tmp");
    try {
      try (OutputStream stream = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16);
           CpioWriter cpio = new CpioWriter(stream)) {
        boolean keepOwners = isRoot();
        writeTree(cpio, rootfsDir, "", keepOwners);
        if (!Files.isDirectory(rootfsDir.resolve("dev"), LinkOption.NOFOLLOW_LINKS)) {
          cpio.directory("dev", 0755, CpioWriter.Owner.ROOT);
        }
        if (!Files.exists(rootfsDir.resolve("dev/console"), LinkOption.NOFOLLOW_LINKS)) {
          cpio.node("dev/console", CpioWriter.S_IFCHR | 0600, CONSOLE_RDEV, CpioWriter.Owner.ROOT);
        }
        writeHerdFiles(cpio, init, launch, kernel);
        cpio.finish();
      }
      Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return out;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private static void writeHerdFiles(CpioWriter cpio, byte[] init, GuestLaunch launch,
      GuestKernel kernel) throws IOException {
    CpioWriter.Owner root = CpioWriter.Owner.ROOT;
    cpio.directory(".herd", 0755, root);
    cpio.file(".herd/init", 0755, root, init);
    cpio.directory(".herd/modules", 0755, root);
    StringBuilder order = new StringBuilder();
    for (Path module : kernel.modules()) {
      String name = module.getFileName().toString();
      try (InputStream in = Files.newInputStream(module)) {
        cpio.file(".herd/modules/" + name, 0644, root, Files.size(module), in);
      }
      order.append(name).append('\n');
    }
    cpio.file(".herd/modules/order", 0644, root,
        order.toString().getBytes(StandardCharsets.UTF_8));
    // the app's environment may hold secrets: readable by the init (root) only
    cpio.file(".herd/launch", 0400, root, launch.encode());
  }

  /** Depth first, names sorted: a directory's entry precedes its content, as cpio needs. */
  private static void writeTree(CpioWriter cpio, Path dir, String prefix, boolean keepOwners)
      throws IOException {
    List<Path> children = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      stream.forEach(children::add);
    }
    children.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
    for (Path child : children) {
      String name = prefix + child.getFileName();
      if (name.equals(".herd")) {
        continue; // herd-vm's own, written after the image
      }
      Map<String, Object> attributes = Files.readAttributes(child,
          "unix:mode,uid,gid,rdev,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      int mode = (Integer) attributes.get("mode");
      long mtime = Math.max(0, ((FileTime) attributes.get("lastModifiedTime")).toMillis() / 1000);
      CpioWriter.Owner owner = keepOwners
          ? new CpioWriter.Owner((Integer) attributes.get("uid"), (Integer) attributes.get("gid"),
              Math.min(mtime, 0xffffffffL))
          : new CpioWriter.Owner(0, 0, Math.min(mtime, 0xffffffffL));
      int type = mode & CpioWriter.S_IFMT;
      int permissions = mode & 07777;
      if (type == CpioWriter.S_IFDIR) {
        cpio.directory(name, permissions, owner);
        writeTree(cpio, child, name + "/", keepOwners);
      } else if (type == CpioWriter.S_IFREG) {
        try (InputStream in = Files.newInputStream(child, LinkOption.NOFOLLOW_LINKS)) {
          cpio.file(name, permissions, owner, Files.size(child), in);
        }
      } else if (type == CpioWriter.S_IFLNK) {
        cpio.symlink(name, Files.readSymbolicLink(child).toString(), owner);
      } else if (type != S_IFSOCK) {
        cpio.node(name, mode, (Long) attributes.get("rdev"), owner);
      }
    }
  }

  /** The guest init for this JVM's architecture, from the jar. */
  static byte[] initBinary() throws IOException {
    String arch = System.getProperty("os.arch", "unknown");
    try (InputStream in = Initramfs.class.getResourceAsStream(INIT_RESOURCE + arch)) {
      if (in == null) {
        throw new IOException("this herd-vm jar has no guest init for os.arch " + arch
            + " (resource " + INIT_RESOURCE + arch + "; to fix: build herd-vm on a machine of"
            + " that architecture, with gcc and libc6-dev installed)");
      }
      return in.readAllBytes();
    }
  }

  private static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0"); // real, effective, ...: the effective one
        }
      }
    } catch (IOException e) {
      // not Linux: no owners worth keeping
    }
    return false;
  }
}
