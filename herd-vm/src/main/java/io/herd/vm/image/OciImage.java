package io.herd.vm.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A container image read from disk: its digest, what it runs ({@link ImageConfig}) and its layers
 * in the order they apply. Opened from any of the three forms tools write, told apart by content:
 *
 * <ul>
 *   <li>{@link Format#OCI_LAYOUT}: a directory holding {@code oci-layout}, {@code index.json} and
 *       {@code blobs/sha256/…} ({@code skopeo copy docker://IMAGE oci:DIR});
 *   <li>{@link Format#OCI_ARCHIVE}: the same layout in a tar ({@code skopeo copy docker://IMAGE
 *       oci-archive:FILE}; also what {@code docker save} writes since Docker 25, which this reads
 *       as OCI);
 *   <li>{@link Format#DOCKER_ARCHIVE}: a tar (or its unpacked directory) with {@code
 *       manifest.json}, a config {@code <hex>.json} and layer tars ({@code docker save}, {@code
 *       skopeo copy … docker-archive:FILE}).
 * </ul>
 *
 * <p>An index listing several images is narrowed to linux/amd64 (what the guest runs). Every blob
 * read is checked against its digest: manifests and configs in {@link #open}, layers as {@link
 * RootfsCache} streams them. Immutable and thread-safe; holds no open file, so it needs no
 * closing. The tarball or directory must not change while the image is in use.
 */
public final class OciImage {

  /** How the image is stored, in the names skopeo gives these transports. */
  public enum Format {
    /** An OCI image layout directory. */
    OCI_LAYOUT,
    /** An OCI image layout in a tar. */
    OCI_ARCHIVE,
    /** A {@code docker save} tar (manifest.json), or such a tar unpacked into a directory. */
    DOCKER_ARCHIVE
  }

  /** What worker.vm.image accepts, appended to every "this is not an image" message. */
  static final String ACCEPTED =
      "worker.vm.image must be an OCI image layout directory (skopeo copy docker://IMAGE oci:DIR)"
          + " or an OCI/docker-archive tarball";

  /** Where a layer's bytes are inside the image, and how to check them. */
  record LayerBlob(String path, Optional<BlobDigest> blobDigest, Optional<BlobDigest> diffId) {}

  private final Format format;
  private final ImageFiles files;
  private final String digest;
  private final ImageConfig config;
  private final List<ImageLayer> layers;
  private final List<LayerBlob> layerBlobs;

  OciImage(
      Format format,
      ImageFiles files,
      String digest,
      ImageConfig config,
      List<ImageLayer> layers,
      List<LayerBlob> layerBlobs) {
    this.format = format;
    this.files = files;
    this.digest = digest;
    this.config = config;
    this.layers = List.copyOf(layers);
    this.layerBlobs = List.copyOf(layerBlobs);
  }

  /**
   * Reads the image at {@code source}: an OCI image layout directory, an OCI image tarball or a
   * docker-archive tarball.
   *
   * @throws VmImageException naming the file, what is wrong and how to fix it, when {@code
   *     source} is none of these, has no linux/amd64 image, or a manifest or config fails its
   *     digest
   */
  public static OciImage open(Path source) {
    Objects.requireNonNull(source, "source");
    try {
      if (Files.isDirectory(source)) {
        ImageFiles files = new DirectoryImageFiles(source);
        if (files.size("index.json").isPresent()) {
          return new OciLayoutReader(files, Format.OCI_LAYOUT).read();
        }
        if (files.size("manifest.json").isPresent()) {
          return new DockerArchiveReader(files).read();
        }
        throw new VmImageException(
            files.describe("index.json") + ": no such file — " + ACCEPTED);
      }
      if (Files.isRegularFile(source)) {
        checkTarMagic(source);
        ImageFiles files = new TarballImageFiles(source);
        if (files.size("index.json").isPresent()) {
          return new OciLayoutReader(files, Format.OCI_ARCHIVE).read();
        }
        if (files.size("manifest.json").isPresent()) {
          return new DockerArchiveReader(files).read();
        }
        throw new VmImageException(
            source + ": a tar with neither index.json nor manifest.json at its top — " + ACCEPTED);
      }
      throw new VmImageException(source + ": no such file or directory — " + ACCEPTED);
    } catch (IOException e) {
      throw new VmImageException(source + ": cannot read the image: " + e + " — " + ACCEPTED, e);
    }
  }

  private static void checkTarMagic(Path file) throws IOException {
    byte[] head = new byte[512];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
      throw new VmImageException(
          file
              + ": a gzip-compressed file — decompress it first (gunzip -k "
              + file
              + "); "
              + ACCEPTED);
    }
    boolean ustar =
        n == 512
            && head[257] == 'u'
            && head[258] == 's'
            && head[259] == 't'
            && head[260] == 'a'
            && head[261] == 'r';
    if (!ustar) {
      throw new VmImageException(file + ": not a tar archive — " + ACCEPTED);
    }
  }

  /** The directory or tarball the image was read from. */
  public Path source() {
    return files.source();
  }

  /** How the image is stored. */
  public Format format() {
    return format;
  }

  /**
   * The image's identity, {@code sha256:<hex>}: the digest of its manifest, or for a
   * docker-archive (which has no manifest blob) the digest of its config. Two copies of one image
   * in the same format have the same digest, so caches keyed by it are shared.
   */
  public String digest() {
    return digest;
  }

  /** What the image runs. */
  public ImageConfig config() {
    return config;
  }

  /** The layers, lowest first: the order they apply in. */
  public List<ImageLayer> layers() {
    return layers;
  }

  /**
   * Opens layer {@code index} as an uncompressed tar stream whose blob is checked against the
   * manifest's digest and whose tar against the config's diff ID when {@link LayerStream#finish()}
   * is called.
   */
  LayerStream openLayer(int index) throws IOException {
    ImageLayer layer = layers.get(index);
    LayerBlob blob = layerBlobs.get(index);
    return LayerStream.open(files, blob, layer);
  }

  @Override
  public String toString() {
    return "OciImage{" + format + " " + source() + ", " + digest + ", " + layers.size() + " layers}";
  }
}
