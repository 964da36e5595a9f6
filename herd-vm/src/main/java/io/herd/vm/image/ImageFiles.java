package io.herd.vm.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The files of an image, wherever they are stored: a directory ({@link DirectoryImageFiles}) or a
 * tarball ({@link TarballImageFiles}). Names are relative, {@code /}-separated, normalized paths
 * such as {@code index.json} or {@code blobs/sha256/<hex>}; callers validate names that come from
 * the image before asking for them. Thread-safe: each {@link #open} is independent.
 */
interface ImageFiles {

  /** The directory or tarball the image was opened from. */
  Path source();

  /** The size of the regular file {@code name}, empty when there is no such file. */
  Optional<Long> size(String name) throws IOException;

  /** The bytes of the regular file {@code name}; the caller closes the stream. */
  InputStream open(String name) throws IOException;

  /** How error messages name {@code name}: a path, or {@code archive.tar!/name}. */
  String describe(String name);
}
