package io.herd.vm.image;

import static io.herd.testkit.OciImageBuilder.Entry.dir;
import static io.herd.testkit.OciImageBuilder.Entry.file;
import static io.herd.testkit.OciImageBuilder.Entry.whiteout;

import io.herd.testkit.OciImageBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@link RootfsCacheUnprivilegedTest} runs as an unprivileged user, in its own JVM: unpacks
 * an image whose directories and files lock their owner out (modes 0000, 0300, 0500, 0555), then
 * has the cache remove such a tree (an abandoned temporary directory). Prints one line per check;
 * throws (exit status 1) on the first that fails.
 */
public final class UnprivilegedUnpack {

  private UnprivilegedUnpack() {}

  public static void main(String[] args) throws IOException {
    Path work = Path.of(args[0]);
    OciImage image =
        OciImage.open(
            OciImageBuilder.create()
                .layer(
                    dir("ro", 0555),
                    file("ro/a", "a", 0444),
                    dir("ro/sub", 0500),
                    file("ro/sub/b", "b", 0400),
                    dir("locked", 0),
                    file("locked/x", "x", 0),
                    dir("wo", 0300),
                    file("wo/f", "f", 0),
                    file("su", "x", 04755))
                .layer(file("ro/c", "c", 0644), whiteout("ro/sub"))
                .writeOciLayout(work.resolve("img")));

    Path rootfs = new RootfsCache().unpack(image, work.resolve("cache"));
    check(mode(rootfs.resolve("ro")) == 0555, "ro is 0555");
    check(mode(rootfs.resolve("locked")) == 0, "locked is 0000");
    check(mode(rootfs.resolve("wo")) == 0300, "wo is 0300");
    check(mode(rootfs.resolve("su")) == 0755, "setuid dropped: su is 0755");
    check(Files.exists(rootfs.resolve("ro/c")), "a later layer wrote into the 0555 directory");
    check(!Files.exists(rootfs.resolve("ro/sub")), "a whiteout removed the 0500 directory");

    Path abandoned = rootfs.resolveSibling(".rootfs-" + Integer.MAX_VALUE + "-1");
    Files.move(rootfs, abandoned);
    new RootfsCache().unpack(image, work.resolve("cache"));
    check(!Files.exists(abandoned), "an abandoned tree of locked directories was removed");
    try (var s = Files.list(rootfs.getParent())) {
      List<Path> left = s.toList();
      check(left.equals(List.of(rootfs)), "only rootfs is left: " + left);
    }
  }

  private static int mode(Path p) throws IOException {
    return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("failed: " + what);
    }
    System.out.println("ok: " + what);
  }
}
