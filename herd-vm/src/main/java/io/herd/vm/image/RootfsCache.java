package io.herd.vm.image;

import java.nio.file.Path;

/**
 * Unpacks images into root file systems, once per image digest: {@code
 * <cacheDir>/images/<digest hex>/rootfs}. Thread-safe; share one instance per process so that
 * concurrent callers wait for a single unpack.
 */
public final class RootfsCache {

  public RootfsCache() {}

  /**
   * The root file system of {@code image}, unpacked under {@code cacheDir} unless it already is.
   *
   * @throws VmImageException when a layer cannot be read, fails its digest, or is hostile
   */
  public Path unpack(OciImage image, Path cacheDir) {
    throw new UnsupportedOperationException("not yet");
  }

  /** Where {@link #unpack} puts the root file system of the image with this digest. */
  public static Path rootfsDir(Path cacheDir, String imageDigest) {
    return imageDir(cacheDir, imageDigest).resolve("rootfs");
  }

  static Path imageDir(Path cacheDir, String imageDigest) {
    return cacheDir.resolve("images").resolve(BlobDigest.parse(imageDigest).orElseThrow(() -> new IllegalArgumentException("not an image digest: " + imageDigest)).hex());
  }
}
