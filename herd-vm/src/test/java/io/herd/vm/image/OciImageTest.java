package io.herd.vm.image;

import static io.herd.testkit.OciImageBuilder.Entry.dir;
import static io.herd.testkit.OciImageBuilder.Entry.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.testkit.OciImageBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciImageTest {

  @TempDir Path tmp;

  private static OciImageBuilder twoLayers() {
    return OciImageBuilder.create()
        .entrypoint("/app/server")
        .exposedPorts("8080/tcp")
        .layer(dir("app", 0755), file("app/server", "v1", 0755))
        .layer(file("app/config", "port=8080\n", 0644));
  }

  @Test
  void readsAnOciLayoutDirectory() {
    OciImage image = OciImage.open(twoLayers().writeOciLayout(tmp.resolve("oci")));

    assertThat(image.format()).isEqualTo(OciImage.Format.OCI_LAYOUT);
    assertThat(image.digest()).matches("sha256:[0-9a-f]{64}");
    assertThat(image.layers()).hasSize(2);
    assertThat(image.layers().get(0).mediaType())
        .isEqualTo("application/vnd.oci.image.layer.v1.tar+gzip");
    assertThat(image.layers().get(0).diffId()).isPresent();
    assertThat(image.config().argv()).containsExactly("/app/server");
    assertThat(image.config().onlyExposedPort()).hasValue(8080);
  }

  @Test
  void readsAnOciTarballWithTheSameDigestAsTheDirectory() {
    OciImageBuilder builder = twoLayers();
    OciImage dir = OciImage.open(builder.writeOciLayout(tmp.resolve("oci")));
    OciImage tar = OciImage.open(builder.writeOciArchive(tmp.resolve("oci.tar")));

    assertThat(tar.format()).isEqualTo(OciImage.Format.OCI_ARCHIVE);
    assertThat(tar.digest()).isEqualTo(dir.digest());
    assertThat(tar.layers()).isEqualTo(dir.layers());
    assertThat(tar.config()).isEqualTo(dir.config());
  }

  @Test
  void readsADockerArchiveWhoseDigestIsItsConfigs() throws IOException {
    Path tar = twoLayers().gzip(false).writeDockerArchive(tmp.resolve("docker.tar"));
    OciImage image = OciImage.open(tar);

    assertThat(image.format()).isEqualTo(OciImage.Format.DOCKER_ARCHIVE);
    assertThat(image.layers()).hasSize(2);
    assertThat(image.layers().get(0).digest()).isEqualTo(image.layers().get(0).diffId().get());
    assertThat(image.config().argv()).containsExactly("/app/server");
    assertThat(image.digest()).matches("sha256:[0-9a-f]{64}");
  }

  @Test
  void readsAnUnpackedDockerArchiveDirectoryLikeItsTarball() throws Exception {
    Path tar = twoLayers().gzip(false).writeDockerArchive(tmp.resolve("docker.tar"));
    Path dir = Files.createDirectories(tmp.resolve("docker"));
    Process untar =
        new ProcessBuilder("tar", "-xf", tar.toString(), "-C", dir.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(untar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(untar.waitFor()).as("tar: %s", output).isZero();

    OciImage fromDir = OciImage.open(dir);
    OciImage fromTar = OciImage.open(tar);

    assertThat(fromDir.format()).isEqualTo(OciImage.Format.DOCKER_ARCHIVE);
    assertThat(fromDir.digest()).isEqualTo(fromTar.digest());
    assertThat(fromDir.layers()).isEqualTo(fromTar.layers());
  }

  @Test
  void picksLinuxAmd64FromAMultiPlatformIndex() {
    Path dir =
        twoLayers().platforms("linux/arm64", "linux/amd64").writeOciLayout(tmp.resolve("multi"));
    OciImage image = OciImage.open(dir);

    OciImage amd64Only = OciImage.open(twoLayers().writeOciLayout(tmp.resolve("single")));
    assertThat(image.layers()).isEqualTo(amd64Only.layers());
    assertThat(image.config()).isEqualTo(amd64Only.config());
  }

  @Test
  void followsANestedIndexAsSkopeoCopyAllWritesIt() throws IOException {
    Path dir =
        twoLayers().platforms("linux/arm64", "linux/amd64").writeOciLayout(tmp.resolve("nested"));
    byte[] inner = Files.readAllBytes(dir.resolve("index.json"));
    String innerDigest = OciImageBuilder.sha256(inner);
    Files.write(dir.resolve("blobs/sha256/" + innerDigest.substring(7)), inner);
    Files.writeString(
        dir.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
            + "\"application/vnd.oci.image.index.v1+json\",\"digest\":\""
            + innerDigest
            + "\",\"size\":"
            + inner.length
            + "}]}");

    OciImage image = OciImage.open(dir);
    OciImage flat =
        OciImage.open(
            twoLayers().platforms("linux/arm64", "linux/amd64").writeOciLayout(tmp.resolve("flat")));

    assertThat(image.digest()).isEqualTo(flat.digest());
  }

  @Test
  void anIndexWithOnlyArm64FailsNamingThePlatforms() {
    Path dir = twoLayers().platforms("linux/arm64", "linux/arm").writeOciLayout(tmp.resolve("arm"));

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(dir.resolve("index.json").toString())
        .hasMessageContaining("no linux/amd64 image")
        .hasMessageContaining("linux/arm64")
        .hasMessageContaining("--override-arch amd64");
  }

  @Test
  void aSingleImageWhoseConfigSaysArm64Fails() {
    Path dir = twoLayers().platforms("linux/arm64").writeOciLayout(tmp.resolve("arm"));

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("linux/arm64");
  }

  @Test
  void aMissingDirectoryFailsNamingTheKeyAndTheForms() {
    Path missing = tmp.resolve("nope");

    assertThatThrownBy(() -> OciImage.open(missing))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("no such file or directory")
        .hasMessageContaining("worker.vm.image")
        .hasMessageContaining("skopeo copy docker://IMAGE oci:DIR");
  }

  @Test
  void aDirectoryThatIsNotAnImageFailsNamingIndexJson() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("notimage"));
    Files.writeString(dir.resolve("README"), "hello");

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(dir.resolve("index.json") + ": no such file")
        .hasMessageContaining("worker.vm.image must be an OCI image layout directory");
  }

  @Test
  void aFileThatIsNotATarFails() throws IOException {
    Path file = Files.writeString(tmp.resolve("app.txt"), "not a tar at all");

    assertThatThrownBy(() -> OciImage.open(file))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(file + ": not a tar archive")
        .hasMessageContaining("worker.vm.image");
  }

  @Test
  void aGzippedTarballFailsSayingToDecompressIt() throws IOException {
    Path tar = twoLayers().writeOciArchive(tmp.resolve("oci.tar"));
    Path gz = tmp.resolve("oci.tar.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(Files.readAllBytes(tar));
    }

    assertThatThrownBy(() -> OciImage.open(gz))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("gzip-compressed")
        .hasMessageContaining("gunzip");
  }

  @Test
  void aTarWithoutIndexOrManifestFails() throws IOException {
    // An uncompressed layer blob is a tar holding only the layer's files.
    Path layout =
        OciImageBuilder.create()
            .gzip(false)
            .layer(file("hello.txt", "hi", 0644))
            .writeOciLayout(tmp.resolve("plain"));
    Path tar = Files.copy(findLayerTar(layout), tmp.resolve("files.tar"));

    assertThatThrownBy(() -> OciImage.open(tar))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(tar + ": a tar with neither index.json nor manifest.json");
  }

  @Test
  void aCorruptedConfigFailsNamingTheBlob() throws IOException {
    Path dir = twoLayers().writeOciLayout(tmp.resolve("oci"));
    Path config = findBlobContaining(dir, "\"rootfs\"");
    Files.writeString(
        config,
        Files.readString(config).replace("/app/server", "/app/evil!!"),
        StandardCharsets.UTF_8);

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(config.toString())
        .hasMessageContaining("digest mismatch");
  }

  @Test
  void aTruncatedManifestFailsNamingTheBlob() throws IOException {
    Path dir = twoLayers().writeOciLayout(tmp.resolve("oci"));
    Path manifest = findBlobContaining(dir, "\"layers\"");
    byte[] bytes = Files.readAllBytes(manifest);
    Files.write(manifest, java.util.Arrays.copyOf(bytes, bytes.length - 10));

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining(manifest.toString())
        .hasMessageContaining("size mismatch");
  }

  @Test
  void aManifestPathClimbingOutOfADockerArchiveIsRefused() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("docker"));
    Files.writeString(
        dir.resolve("manifest.json"),
        "[{\"Config\":\"../../etc/passwd\",\"Layers\":[]}]");

    assertThatThrownBy(() -> OciImage.open(dir))
        .isInstanceOf(VmImageException.class)
        .hasMessageContaining("climbs out of the image");
  }

  static Path findBlobContaining(Path layout, String text) throws IOException {
    try (var files = Files.list(layout.resolve("blobs/sha256"))) {
      for (Path p : files.toList()) {
        byte[] bytes = Files.readAllBytes(p);
        if (bytes.length > 0 && bytes[0] == '{' && new String(bytes, StandardCharsets.UTF_8).contains(text)) {
          return p;
        }
      }
    }
    throw new AssertionError("no blob contains " + text);
  }

  static Path findLayerTar(Path layout) throws IOException {
    try (var files = Files.list(layout.resolve("blobs/sha256"))) {
      for (Path p : files.toList()) {
        byte[] bytes = Files.readAllBytes(p);
        if (bytes.length >= 512 && bytes[0] != '{') {
          return p;
        }
      }
    }
    throw new AssertionError("no layer tar in " + layout);
  }
}
