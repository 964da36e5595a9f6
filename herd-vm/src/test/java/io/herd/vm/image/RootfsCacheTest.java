package io.herd.vm.image;

import static io.herd.testkit.OciImageBuilder.Entry.dir;
import static io.herd.testkit.OciImageBuilder.Entry.fifo;
import static io.herd.testkit.OciImageBuilder.Entry.file;
import static io.herd.testkit.OciImageBuilder.Entry.hardLink;
import static io.herd.testkit.OciImageBuilder.Entry.opaque;
import static io.herd.testkit.OciImageBuilder.Entry.symlink;
import static io.herd.testkit.OciImageBuilder.Entry.whiteout;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.testkit.OciImageBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RootfsCacheTest {

  @TempDir Path tmp;

  private Path cache() {
    return tmp.resolve("cache");
  }

  /** Three layers exercising replacement, whiteouts, opaque directories, links. */
  private static OciImageBuilder layered() {
    return OciImageBuilder.create()
        .entrypoint("/bin/app")
        .layer(
            dir("bin", 0755),
            file("bin/app", "v1", 0755),
            dir("etc", 0755),
            file("etc/keep", "keep", 0644),
            file("etc/gone", "gone", 0644),
            dir("etc/sub", 0755),
            file("etc/sub/gone-too", "x", 0644),
            dir("var/cache", 0755),
            file("var/cache/old", "old", 0644),
            dir("var/cache/deep", 0755),
            file("var/cache/deep/old", "old", 0644),
            file("data", "shared", 0640),
            hardLink("data-link", "data"),
            symlink("usr-bin", "/bin"))
        .layer(
            file("bin/app", "v2", 0700),
            whiteout("etc/gone"),
            whiteout("etc/sub"),
            // Same-layer entries survive the opaque marker, before or after it in the tar.
            dir("var/cache", 0755),
            file("var/cache/new-before", "n", 0644),
            opaque("var/cache"),
            dir("var/cache/deep", 0755),
            file("var/cache/deep/new-after", "n", 0644))
        .layer(file("etc/gone", "back", 0644), whiteout("usr-bin"));
  }

  @Test
  void appliesLayersWithWhiteoutsOpaqueDirectoriesAndLinks() throws IOException {
    Path rootfs =
        new RootfsCache(true).unpack(OciImage.open(layered().writeOciLayout(tmp.resolve("img"))), cache());

    assertThat(Files.readString(rootfs.resolve("bin/app"))).isEqualTo("v2");
    assertThat(mode(rootfs.resolve("bin/app"))).isEqualTo(0700);
    assertThat(Files.readString(rootfs.resolve("etc/keep"))).isEqualTo("keep");
    assertThat(Files.readString(rootfs.resolve("etc/gone")))
        .as("a whiteout deletes a lower file; a later layer may add it back")
        .isEqualTo("back");
    assertThat(rootfs.resolve("etc/sub")).as("a whiteout deletes a whole directory").doesNotExist();
    assertThat(tree(rootfs.resolve("var/cache")))
        .as("opaque: lower contents gone, this layer's kept whatever the order")
        .containsExactlyInAnyOrder("deep", "deep/new-after", "new-before");
    assertThat(Files.isSymbolicLink(rootfs.resolve("usr-bin"))).isFalse();
    assertThat(rootfs.resolve("usr-bin")).as("a whiteout removes a symlink").doesNotExist();
    assertThat(Files.isSameFile(rootfs.resolve("data"), rootfs.resolve("data-link")))
        .as("a hard link is the same inode")
        .isTrue();
    assertThat(rootfs).isEqualTo(RootfsCache.rootfsDir(cache(), OciImage.open(tmp.resolve("img")).digest()).toAbsolutePath());
  }

  @ParameterizedTest
  @ValueSource(strings = {"gnu", "posix"})
  void unpacksWhatGnuTarWritesLongNamesSparseFilesAndLinks(String format) throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    String longDir = "d".repeat(60) + "/" + "e".repeat(60) + "/" + "f".repeat(60);
    Files.createDirectories(src.resolve(longDir));
    Files.writeString(src.resolve(longDir + "/" + "n".repeat(150)), "deep and long");
    Files.writeString(src.resolve("caf\u00e9 \u2603.txt"), "unicode name");
    Files.createFile(src.resolve("empty"));
    Path tool = Files.writeString(src.resolve("tool"), "#!/bin/sh\n");
    Files.setAttribute(tool, "unix:mode", 0750);
    Files.createLink(src.resolve("tool-link"), tool);
    Files.createSymbolicLink(src.resolve("abs-link"), Path.of("/usr/bin/env"));
    try (var sparse = java.nio.channels.FileChannel.open(
        src.resolve("sparse"),
        java.nio.file.StandardOpenOption.CREATE_NEW,
        java.nio.file.StandardOpenOption.WRITE)) {
      sparse.write(java.nio.ByteBuffer.wrap("middle".getBytes()), 1 << 20);
      sparse.write(java.nio.ByteBuffer.wrap("end".getBytes()), (2 << 20) - 3);
    }
    Path layer = tmp.resolve("layer.tar");
    Process tar =
        new ProcessBuilder(
                "tar", "--format=" + format, "--sparse", "-cf", layer.toString(), "-C", src.toString(), ".")
            .redirectErrorStream(true)
            .start();
    String tarOutput = new String(tar.getInputStream().readAllBytes());
    assertThat(tar.waitFor()).as("tar: %s", tarOutput).isZero();

    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layerTar(Files.readAllBytes(layer))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(describeHashed(rootfs)).isEqualTo(describeHashed(src));
    assertThat(Files.isSameFile(rootfs.resolve("tool"), rootfs.resolve("tool-link"))).isTrue();
  }

  @Test
  void aLaterLayerWritesThroughMergedUsrSymlinksAsTheGuestSeesThem() throws IOException {
    // Debian and Ubuntu images since bookworm: /bin -> usr/bin, /lib -> usr/lib.
    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layer(
                            dir("usr", 0755),
                            dir("usr/bin", 0755),
                            dir("usr/lib", 0755),
                            symlink("bin", "usr/bin"),
                            symlink("lib", "/usr/lib"),
                            dir("opt/vendor", 0755),
                            symlink("opt/vendor/lib", "/usr/lib"))
                        .layer(
                            file("bin/app", "app", 0755),
                            file("lib/libx.so", "so", 0644),
                            file("opt/vendor/lib/liby.so", "y", 0644))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(Files.isSymbolicLink(rootfs.resolve("bin"))).isTrue();
    assertThat(Files.isSymbolicLink(rootfs.resolve("lib"))).isTrue();
    assertThat(Files.readString(rootfs.resolve("usr/bin/app"))).isEqualTo("app");
    assertThat(Files.readString(rootfs.resolve("usr/lib/libx.so"))).isEqualTo("so");
    assertThat(Files.readString(rootfs.resolve("usr/lib/liby.so")))
        .as("an absolute target restarts at the root, wherever the symlink is")
        .isEqualTo("y");
  }

  @Test
  void aLaterLayerReplacesADirectoryByAFileAndAFileByADirectory() throws IOException {
    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layer(
                            dir("was-dir", 0755),
                            file("was-dir/child", "c", 0644),
                            file("was-file", "f", 0644),
                            file("was-link-target", "t", 0644),
                            symlink("was-link", "was-link-target"))
                        .layer(
                            file("was-dir", "now a file", 0644),
                            dir("was-file", 0711),
                            file("was-file/inside", "i", 0644),
                            dir("was-link", 0755))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(Files.readString(rootfs.resolve("was-dir"))).isEqualTo("now a file");
    assertThat(mode(rootfs.resolve("was-file"))).isEqualTo(0711);
    assertThat(Files.readString(rootfs.resolve("was-file/inside"))).isEqualTo("i");
    assertThat(Files.isDirectory(rootfs.resolve("was-link"), LinkOption.NOFOLLOW_LINKS))
        .as("a directory entry replaces a symlink instead of merging into its target")
        .isTrue();
    assertThat(tree(rootfs.resolve("was-link"))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/x-unknown-layer-type"
      })
  void readsGzipLayersUnderEveryMediaTypeThatSaysSoAndSniffsUnknownOnes(String mediaType)
      throws IOException {
    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layer(file("hello", "world", 0644))
                        .layerMediaType(mediaType)
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(Files.readString(rootfs.resolve("hello"))).isEqualTo("world");
  }

  @Test
  void theThreeFormatsUnpackToTheSameTree() throws IOException {
    OciImageBuilder b = layered();
    RootfsCache cache = new RootfsCache(true);
    Path fromDir = cache.unpack(OciImage.open(b.writeOciLayout(tmp.resolve("oci"))), cache());
    Path fromOciTar =
        cache.unpack(OciImage.open(b.writeOciArchive(tmp.resolve("oci.tar"))), tmp.resolve("c2"));
    Path fromDocker =
        cache.unpack(
            OciImage.open(b.gzip(false).writeDockerArchive(tmp.resolve("docker.tar"))),
            tmp.resolve("c3"));

    assertThat(describe(fromOciTar)).isEqualTo(describe(fromDir));
    assertThat(describe(fromDocker)).isEqualTo(describe(fromDir));
  }

  @Test
  void keepsSymlinksVerbatimAndModesAndMtimes() throws IOException {
    Instant mtime = Instant.parse("2021-06-01T12:00:00Z");
    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .gzip(false)
                        .layer(
                            dir("opt", 0555).mtime(mtime),
                            file("opt/tool", "t", 0751).mtime(mtime),
                            symlink("opt/abs", "/etc/passwd"),
                            symlink("opt/rel", "../tool"),
                            fifo("opt/pipe"),
                            file("implicit/parent/file", "f", 0600))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(Files.readSymbolicLink(rootfs.resolve("opt/abs")).toString()).isEqualTo("/etc/passwd");
    assertThat(Files.readSymbolicLink(rootfs.resolve("opt/rel")).toString()).isEqualTo("../tool");
    assertThat(mode(rootfs.resolve("opt"))).isEqualTo(0555);
    assertThat(mode(rootfs.resolve("opt/tool"))).isEqualTo(0751);
    assertThat(Files.getLastModifiedTime(rootfs.resolve("opt")).toInstant()).isEqualTo(mtime);
    assertThat(Files.getLastModifiedTime(rootfs.resolve("opt/tool")).toInstant()).isEqualTo(mtime);
    assertThat(rootfs.resolve("opt/pipe")).as("FIFOs are skipped").doesNotExist();
    assertThat(mode(rootfs.resolve("implicit/parent"))).isEqualTo(0755);
    assertThat(mode(rootfs)).as("the root without a ./ entry").isEqualTo(0755);
  }

  @Test
  void asRootKeepsOwnersAndSetuidBits() throws IOException {
    assumeTrue(isRoot(), "chown needs root");
    Path rootfs =
        new RootfsCache(true)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layer(
                            file("su", "x", 04755).owner(0, 0),
                            file("mine", "x", 02750).owner(1000, 1001),
                            symlink("link", "mine").owner(1000, 1001))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(mode(rootfs.resolve("su"))).isEqualTo(04755);
    assertThat(mode(rootfs.resolve("mine"))).isEqualTo(02750);
    assertThat(Files.getAttribute(rootfs.resolve("mine"), "unix:uid")).isEqualTo(1000);
    assertThat(Files.getAttribute(rootfs.resolve("mine"), "unix:gid")).isEqualTo(1001);
    assertThat(Files.getAttribute(rootfs.resolve("link"), "unix:uid", LinkOption.NOFOLLOW_LINKS))
        .isEqualTo(1000);
  }

  @Test
  void withoutRootSetuidAndSetgidBitsAreDropped() throws IOException {
    Path rootfs =
        new RootfsCache(false)
            .unpack(
                OciImage.open(
                    OciImageBuilder.create()
                        .layer(
                            file("su", "x", 04755).owner(1000, 1000),
                            dir("tmp", 01777),
                            file("sg", "x", 02711))
                        .writeOciLayout(tmp.resolve("img"))),
                cache());

    assertThat(mode(rootfs.resolve("su"))).isEqualTo(0755);
    assertThat(mode(rootfs.resolve("sg"))).isEqualTo(0711);
    assertThat(mode(rootfs.resolve("tmp"))).as("the sticky bit is harmless").isEqualTo(01777);
  }

  @Test
  void theCacheDirectoriesArePrivate() throws IOException {
    OciImage image =
        OciImage.open(
            OciImageBuilder.create().layer(file("x", "y", 0644)).writeOciLayout(tmp.resolve("img")));
    Path rootfs = new RootfsCache(true).unpack(image, cache());

    assertThat(mode(rootfs.getParent())).isEqualTo(0700);
    assertThat(mode(cache().resolve("images"))).isEqualTo(0700);
  }

  @Test
  void aCorruptedLayerFailsNamingTheBlobAndLeavesNothing() throws IOException {
    Path dir =
        OciImageBuilder.create()
            .gzip(false)
            .layer(file("a", "original content", 0644))
            .writeOciLayout(tmp.resolve("img"));
    Path layer = OciImageTest.findLayerTar(dir);
    byte[] bytes = Files.readAllBytes(layer);
    int at = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("original");
    bytes[at] = 'X';
    Files.write(layer, bytes);
    OciImage image = OciImage.open(dir);

    assertThatThrownBy(() -> new RootfsCache(true).unpack(image, cache()))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(layer.toString())
        .hasMessageContaining("digest mismatch");
    assertThat(list(RootfsCache.imageDir(cache(), image.digest()))).isEmpty();
  }

  @Test
  void aCorruptedGzipLayerReportsTheDigestMismatchNotTheGzipError() throws IOException {
    List<OciImageBuilder.Entry> entries = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      entries.add(file("f" + i, "content of file " + i + " ".repeat(i * 10), 0644));
    }
    Path dir =
        OciImageBuilder.create()
            .layer(entries.toArray(OciImageBuilder.Entry[]::new))
            .writeOciLayout(tmp.resolve("img"));
    Path layer = largestBlob(dir);
    byte[] bytes = Files.readAllBytes(layer);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(layer, bytes);
    OciImage image = OciImage.open(dir);

    assertThatThrownBy(() -> new RootfsCache(true).unpack(image, cache()))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(layer.toString())
        .hasMessageContaining("digest mismatch");
    assertThat(list(RootfsCache.imageDir(cache(), image.digest()))).isEmpty();
  }

  static Path largestBlob(Path layout) throws IOException {
    try (var s = Files.list(layout.resolve("blobs/sha256"))) {
      return s.max(
              java.util.Comparator.comparingLong(
                  p -> {
                    try {
                      return Files.size(p);
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  }))
          .orElseThrow();
    }
  }

  @Test
  void aCorruptedDockerLayerFailsAgainstItsDiffId() throws IOException {
    Path tar =
        OciImageBuilder.create()
            .gzip(false)
            .layer(file("a", "original content", 0644))
            .writeDockerArchive(tmp.resolve("img.tar"));
    byte[] bytes = Files.readAllBytes(tar);
    int at = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("original");
    bytes[at] = 'X';
    Files.write(tar, bytes);
    OciImage image = OciImage.open(tar);

    assertThatThrownBy(() -> new RootfsCache(true).unpack(image, cache()))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(tar + "!/")
        .hasMessageContaining("layer.tar")
        .hasMessageContaining("digest mismatch");
  }

  @Test
  void aZstdLayerFailsNamingTheMediaTypeAndTheFix() {
    OciImage image =
        OciImage.open(
            OciImageBuilder.create()
                .layer(file("a", "b", 0644))
                .layerMediaType("application/vnd.oci.image.layer.v1.tar+zstd")
                .writeOciLayout(tmp.resolve("img")));

    assertThatThrownBy(() -> new RootfsCache(true).unpack(image, cache()))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("application/vnd.oci.image.layer.v1.tar+zstd")
        .hasMessageContaining("skopeo copy --dest-compress-format gzip");
  }

  static int mode(Path p) throws IOException {
    return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 07777;
  }

  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException e) {
      return false;
    }
  }

  static List<String> list(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** Relative paths of everything under {@code dir}, without following symlinks. */
  static List<String> tree(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      return s.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  /** Like {@link #describe}, with file contents as SHA-256 (sparse files are megabytes). */
  static List<String> describeHashed(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    for (String rel : tree(dir)) {
      Path p = dir.resolve(rel);
      String what;
      if (Files.isSymbolicLink(p)) {
        what = "-> " + Files.readSymbolicLink(p);
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        what = "dir " + Integer.toOctalString(mode(p));
      } else {
        what =
            "file "
                + Integer.toOctalString(mode(p))
                + " "
                + OciImageBuilder.sha256(Files.readAllBytes(p));
      }
      out.add(rel + " " + what);
    }
    return out;
  }

  /** Each path with its type, mode, content or target: what two unpacks must agree on. */
  static List<String> describe(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    for (String rel : tree(dir)) {
      Path p = dir.resolve(rel);
      String what;
      if (Files.isSymbolicLink(p)) {
        what = "-> " + Files.readSymbolicLink(p);
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        what = "dir " + Integer.toOctalString(mode(p));
      } else {
        what = "file " + Integer.toOctalString(mode(p)) + " " + Files.readString(p);
      }
      out.add(rel + " " + what);
    }
    return out;
  }
}
