package io.herd.vm.image;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * One layer being read: the uncompressed tar for the unpacker, checked on {@link #finish()} at
 * both ends — the stored blob against the manifest's digest, the tar against the config's diff ID
 * — as far as the image names them. Not thread-safe; close it in every case.
 */
final class LayerStream implements Closeable {

  private static final int BUFFER = 64 * 1024;

  /** How a layer blob is compressed. */
  enum Compression {
    NONE,
    GZIP,
    ZSTD;

    /**
     * What the media type says, empty when it says nothing this reader knows (a docker-archive
     * layer, an unusual type): the bytes decide then.
     */
    static java.util.Optional<Compression> ofMediaType(String mediaType) {
      String m = mediaType.toLowerCase(Locale.ROOT);
      if (m.endsWith("+zstd") || m.endsWith(".zstd")) {
        return java.util.Optional.of(ZSTD);
      }
      if (m.endsWith("+gzip") || m.endsWith(".tar.gzip") || m.endsWith(".gzip")) {
        return java.util.Optional.of(GZIP);
      }
      if (m.equals("application/vnd.oci.image.layer.v1.tar")
          || m.equals("application/vnd.oci.image.layer.nondistributable.v1.tar")) {
        return java.util.Optional.of(NONE);
      }
      return java.util.Optional.empty();
    }

    /** What the first bytes say: gzip and zstd have magic numbers, a tar has none at offset 0. */
    static Compression sniff(byte[] head, int n) {
      if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
        return GZIP;
      }
      if (n >= 4
          && (head[0] & 0xff) == 0x28
          && (head[1] & 0xff) == 0xb5
          && (head[2] & 0xff) == 0x2f
          && (head[3] & 0xff) == 0xfd) {
        return ZSTD;
      }
      return NONE;
    }
  }

  private final String name;
  private final InputStream raw;
  private final boolean compressed;
  private final VerifyingInputStream blobCheck;
  private final InputStream tar;
  private final VerifyingInputStream diffCheck;

  private LayerStream(
      String name,
      InputStream raw,
      boolean compressed,
      VerifyingInputStream blobCheck,
      InputStream tar,
      VerifyingInputStream diffCheck) {
    this.name = name;
    this.raw = raw;
    this.compressed = compressed;
    this.blobCheck = blobCheck;
    this.tar = tar;
    this.diffCheck = diffCheck;
  }

  static LayerStream open(ImageFiles files, OciImage.LayerBlob blob, ImageLayer layer)
      throws IOException {
    String name = files.describe(blob.path());
    if (files.size(blob.path()).isEmpty()) {
      throw new VmImageException(
          name
              + ": no such file, but the manifest lists it as layer "
              + layer.digest()
              + " — the image is incomplete; copy it again (skopeo copy)");
    }
    InputStream raw = files.open(blob.path());
    try {
      InputStream stored = new BufferedInputStream(raw, BUFFER);
      VerifyingInputStream blobCheck = null;
      if (blob.blobDigest().isPresent()) {
        blobCheck = new VerifyingInputStream(stored, blob.blobDigest().get(), layer.size(), name);
        stored = blobCheck;
      }
      Compression compression = Compression.ofMediaType(layer.mediaType()).orElse(null);
      String said = "media type " + layer.mediaType();
      if (compression == null) {
        said = "by its first bytes";
        stored = new BufferedInputStream(stored, BUFFER);
        stored.mark(8);
        byte[] head = new byte[4];
        int n = stored.readNBytes(head, 0, head.length);
        stored.reset();
        compression = Compression.sniff(head, n);
      }
      InputStream tar =
          switch (compression) {
            case NONE -> stored;
            case GZIP -> new BufferedInputStream(new GZIPInputStream(stored, BUFFER), BUFFER);
            case ZSTD -> throw new VmImageException(
                name
                    + ": layer "
                    + layer.digest()
                    + " is zstd-compressed ("
                    + said
                    + "), which herd cannot read — copy the image again with gzip layers:"
                    + " skopeo copy --dest-compress-format gzip docker://IMAGE oci:DIR");
          };
      VerifyingInputStream diffCheck = null;
      if (layer.diffId().isPresent()) {
        BlobDigest diffId =
            BlobDigest.parse(layer.diffId().get())
                .orElseThrow(() -> new VmImageException(name + ": malformed diff ID"));
        diffCheck = new VerifyingInputStream(tar, diffId, -1, name + " (uncompressed)");
        tar = diffCheck;
      }
      return new LayerStream(
          name, raw, compression != Compression.NONE, blobCheck, tar, diffCheck);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  /** How messages name the layer: its file, e.g. {@code /img/blobs/sha256/ab…}. */
  String name() {
    return name;
  }

  /**
   * After reading failed (a gzip CRC error, a torn tar header), checks the stored bytes: when they
   * are not what the image says, that is the cause to report, not the symptom.
   *
   * @throws VmImageException naming the blob when its digest differs
   */
  void verifyAfterFailure() throws IOException {
    if (blobCheck != null) {
      blobCheck.finish();
    } else if (diffCheck != null && !compressed) {
      diffCheck.finish();
    }
  }

  /** The layer as an uncompressed tar. */
  InputStream tar() {
    return tar;
  }

  /**
   * Reads what the tar reader left and checks both digests.
   *
   * @throws VmImageException naming the blob when a digest or size differs
   */
  void finish() throws IOException {
    tar.transferTo(OutputStream.nullOutputStream());
    // The stored blob first: when both differ, the file as stored is what to name.
    if (blobCheck != null) {
      blobCheck.finish();
    }
    if (diffCheck != null) {
      diffCheck.finish();
    }
  }

  @Override
  public void close() throws IOException {
    raw.close();
  }
}
