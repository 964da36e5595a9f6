package io.herd.vm.image;

import static io.herd.testkit.OciImageBuilder.Entry.dir;
import static io.herd.testkit.OciImageBuilder.Entry.file;
import static io.herd.testkit.OciImageBuilder.Entry.hardLink;
import static io.herd.testkit.OciImageBuilder.Entry.opaque;
import static io.herd.testkit.OciImageBuilder.Entry.symlink;
import static io.herd.testkit.OciImageBuilder.Entry.whiteout;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.testkit.OciImageBuilder;
import io.herd.testkit.OciImageBuilder.Entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile image must not write, delete, link or chmod anything outside its root file system.
 * Each test aims at {@code outside/} (a sibling of the cache, holding a sentinel file) and checks
 * that it is exactly as it was.
 */
class RootfsEscapeTest {

  @TempDir Path tmp;

  private Path outside;
  private List<String> outsideBefore;

  @BeforeEach
  void plantSentinel() throws IOException {
    outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("sentinel"), "host data");
    Files.setAttribute(outside, "unix:mode", 0755);
    outsideBefore = snapshot(outside);
  }

  /** From the temporary root (cache/images/hex/.rootfs-…), four levels up is {@code tmp}. */
  private static final String UP_TO_TMP = "../../../../";

  @Test
  void dotDotInANameFailsTheUnpack() throws IOException {
    OciImage image = image(List.of(file(UP_TO_TMP + "outside/evil", "pwned", 0644)));

    assertThatThrownBy(() -> unpack(image))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("'" + UP_TO_TMP + "outside/evil'")
        .hasMessageContaining("climbs out of the root file system");
    assertOutsideUntouched();
    assertThat(RootfsCacheTest.list(RootfsCache.imageDir(tmp.resolve("cache"), image.digest())))
        .as("nothing left behind")
        .isEmpty();
  }

  @Test
  void dotDotThatStaysInsideIsFolded() throws IOException {
    Path rootfs = unpack(image(List.of(dir("a", 0755), file("a/../b", "fine", 0644))));

    assertThat(Files.readString(rootfs.resolve("b"))).isEqualTo("fine");
  }

  @Test
  void anAbsoluteNameLandsInsideTheRoot() throws IOException {
    Path rootfs = unpack(image(List.of(file(outside + "/evil", "contained", 0644))));

    assertOutsideUntouched();
    assertThat(Files.readString(rootfs.resolve(outside.toString().substring(1) + "/evil")))
        .isEqualTo("contained");
  }

  @Test
  void aFileBeneathAnAbsoluteSymlinkLandsInsideTheRoot() throws IOException {
    Path rootfs =
        unpack(image(List.of(symlink("escape", outside.toString()), file("escape/evil", "x", 0644))));

    assertOutsideUntouched();
    assertThat(rootfs.resolve(outside.toString().substring(1) + "/evil"))
        .as("the symlink is followed as the guest would: from the image's root")
        .exists();
  }

  @Test
  void aFileBeneathARelativeSymlinkClimbingOutStopsAtTheRoot() throws IOException {
    Path rootfs =
        unpack(
            image(
                List.of(
                    dir("deep", 0755),
                    symlink("deep/up", "../../../../../outside"),
                    file("deep/up/evil", "x", 0644))));

    assertOutsideUntouched();
    assertThat(rootfs.resolve("outside/evil")).as(".. stops at the root, as in a chroot").exists();
  }

  @Test
  void aSymlinkPlantedByALowerLayerIsResolvedInsideToo() throws IOException {
    Path rootfs =
        unpack(
            image(
                List.of(symlink("escape", outside.toString())),
                List.of(dir("escape/newdir", 0700), file("escape/newdir/evil", "x", 0644))));

    assertOutsideUntouched();
    assertThat(rootfs.resolve(outside.toString().substring(1) + "/newdir/evil")).exists();
  }

  @Test
  void aFileReplacingASymlinkDoesNotWriteThroughIt() throws IOException {
    Path rootfs =
        unpack(
            image(
                List.of(symlink("victim", outside.resolve("sentinel").toString())),
                List.of(file("victim", "overwritten", 0600))));

    assertOutsideUntouched();
    assertThat(Files.isSymbolicLink(rootfs.resolve("victim"))).isFalse();
    assertThat(Files.readString(rootfs.resolve("victim"))).isEqualTo("overwritten");
  }

  @Test
  void aHardLinkClimbingOutFails() {
    OciImage image = image(List.of(hardLink("stolen", UP_TO_TMP + "outside/sentinel")));

    assertThatThrownBy(() -> unpack(image))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("outside the root file system");
    assertOutsideUntouched();
  }

  @Test
  void aHardLinkThroughASymlinkToAHostFileFails() {
    OciImage image =
        image(
            List.of(
                symlink("escape", outside.toString()),
                hardLink("stolen", "escape/sentinel")));

    assertThatThrownBy(() -> unpack(image))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("which the image does not have");
    assertOutsideUntouched();
  }

  @Test
  void anAbsoluteHardLinkToAHostFileFails() {
    OciImage image = image(List.of(hardLink("stolen", outside.resolve("sentinel").toString())));

    assertThatThrownBy(() -> unpack(image)).isInstanceOf(VmImageException.class);
    assertOutsideUntouched();
  }

  @Test
  void aWhiteoutThroughASymlinkDeletesNothingOutside() throws IOException {
    unpack(
        image(
            List.of(symlink("escape", outside.toString())),
            List.of(whiteout("escape/sentinel"))));

    assertOutsideUntouched();
  }

  @Test
  void anOpaqueWhiteoutThroughASymlinkDeletesNothingOutside() throws IOException {
    unpack(
        image(
            List.of(symlink("escape", outside.toString())),
            List.of(opaque("escape"))));
    unpack(
        image(
            List.of(dir("d", 0755), symlink("d/up", "../../../../../outside")),
            List.of(opaque("d/up"))));

    assertOutsideUntouched();
  }

  @Test
  void aWhiteoutOfDotDotFails() {
    OciImage image = image(List.of(dir("a", 0755), file("a/.wh...", "", 0644)));

    assertThatThrownBy(() -> unpack(image))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("whiteout");
    assertOutsideUntouched();
  }

  @Test
  void aDirectoryReplacedByASymlinkDoesNotRedirectItsMode() throws IOException {
    Path rootfs =
        unpack(
            image(
                List.of(dir("d", 0700)),
                List.of(symlink("d", outside.toString()))));

    assertOutsideUntouched();
    assertThat(Files.isSymbolicLink(rootfs.resolve("d"))).isTrue();
  }

  @Test
  void aSymlinkLoopFailsInsteadOfHanging() {
    OciImage image =
        image(List.of(symlink("a", "b"), symlink("b", "a"), file("a/x", "x", 0644)));

    assertThatThrownBy(() -> unpack(image))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("symlinks");
    assertOutsideUntouched();
  }

  @SafeVarargs
  private OciImage image(List<Entry>... layers) {
    OciImageBuilder b = OciImageBuilder.create().gzip(false);
    for (List<Entry> layer : layers) {
      b.layer(layer.toArray(Entry[]::new));
    }
    return OciImage.open(b.writeOciLayout(tmp.resolve("img-" + System.nanoTime())));
  }

  private Path unpack(OciImage image) {
    return new RootfsCache(true).unpack(image, tmp.resolve("cache"));
  }

  private void assertOutsideUntouched() {
    try {
      assertThat(snapshot(outside)).as("the host directory the image aimed at").isEqualTo(outsideBefore);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Every path under {@code dir} with its type, mode, link count and content. */
  private static List<String> snapshot(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted().toList()) {
        String line =
            dir.relativize(p)
                + " mode="
                + Integer.toOctalString(RootfsCacheTest.mode(p))
                + " nlink="
                + Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          line += " " + Files.readString(p);
        }
        out.add(line);
      }
    }
    return out;
  }
}
