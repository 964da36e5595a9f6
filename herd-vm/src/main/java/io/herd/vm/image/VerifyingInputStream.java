package io.herd.vm.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A blob's bytes, digested as they are read, so that the check costs no second pass over a layer.
 * {@link #finish()} reads what the consumer left (a tar reader stops at the end-of-archive blocks;
 * gzip may leave padding) and fails when the size or digest is not what the image says. Nothing
 * read from a blob may be trusted until {@code finish()} returned; the unpacker writes into a
 * temporary directory that it discards when it throws. Not thread-safe.
 */
final class VerifyingInputStream extends FilterInputStream {

  private final BlobDigest expected;
  private final long expectedSize;
  private final String blobName;
  private final MessageDigest digest;
  private long count;

  /**
   * @param expectedSize the size the image declares, or {@code -1} when it declares none
   * @param blobName how the message names the blob, e.g. {@code /img/blobs/sha256/ab…}
   */
  VerifyingInputStream(InputStream in, BlobDigest expected, long expectedSize, String blobName) {
    super(in);
    this.expected = expected;
    this.expectedSize = expectedSize;
    this.blobName = blobName;
    this.digest = expected.newMessageDigest();
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      digest.update((byte) b);
      count++;
    }
    return b;
  }

  @Override
  public int read(byte[] buf, int off, int len) throws IOException {
    int n = super.read(buf, off, len);
    if (n > 0) {
      digest.update(buf, off, n);
      count += n;
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipped bytes must be digested too: read them instead.
    byte[] buf = new byte[(int) Math.min(n, 8192)];
    int read = read(buf, 0, buf.length);
    return Math.max(read, 0);
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  /**
   * Reads the rest of the blob and checks it.
   *
   * @throws VmImageException naming the blob when its size or digest differs from the image's
   */
  void finish() throws IOException {
    transferTo(OutputStream.nullOutputStream());
    if (expectedSize >= 0 && count != expectedSize) {
      throw new VmImageException(
          blobName
              + ": size mismatch: the image says "
              + expectedSize
              + " bytes, the blob has "
              + count
              + " — the image is truncated or was modified; copy it again (skopeo copy)");
    }
    byte[] computed = digest.digest();
    if (!expected.matches(computed)) {
      throw new VmImageException(
          blobName
              + ": digest mismatch: the image says "
              + expected
              + ", the content is "
              + expected.algorithm()
              + ":"
              + HexFormat.of().formatHex(computed)
              + " — the image is corrupt or was modified; copy it again (skopeo copy)");
    }
  }
}
