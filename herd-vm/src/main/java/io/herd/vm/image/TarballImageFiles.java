package io.herd.vm.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * An image stored as a tarball ({@code skopeo copy … oci-archive:FILE}, {@code docker save}).
 * Reads the tar's headers once, then serves each file by seeking to its data: the blobs of an
 * image are stored plainly, so a file is a byte range of the tarball and reading a layer costs no
 * copy. Links between entries ({@code docker save} stores a layer shared by two images once and
 * links the other) are followed inside the tarball only.
 */
final class TarballImageFiles implements ImageFiles {

  private static final int MAX_LINK_HOPS = 16;

  private record Range(long offset, long size) {}

  private final Path tarball;
  private final Map<String, Range> files = new HashMap<>();
  private final Map<String, String> links = new HashMap<>();

  TarballImageFiles(Path tarball) throws IOException {
    this.tarball = tarball;
    try (TarFile tar = new TarFile(tarball)) {
      for (TarArchiveEntry e : tar.getEntries()) {
        String name = ImageNames.normalize(e.getName());
        if (e.isSymbolicLink()) {
          String dir = name.contains("/") ? name.substring(0, name.lastIndexOf('/') + 1) : "";
          links.put(name, ImageNames.normalize(dir + e.getLinkName()));
        } else if (e.isLink()) {
          links.put(name, ImageNames.normalize(e.getLinkName()));
        } else if (e.isFile() && !e.isSparse()) {
          files.put(name, new Range(e.getDataOffset(), e.getSize()));
        }
      }
    }
  }

  @Override
  public Path source() {
    return tarball;
  }

  @Override
  public Optional<Long> size(String name) {
    return range(name).map(Range::size);
  }

  @Override
  public InputStream open(String name) throws IOException {
    Range range =
        range(name)
            .orElseThrow(() -> new java.nio.file.NoSuchFileException(describe(name)));
    FileChannel channel = FileChannel.open(tarball, StandardOpenOption.READ);
    try {
      channel.position(range.offset());
      return new RangeInputStream(Channels.newInputStream(channel), range.size());
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  @Override
  public String describe(String name) {
    return tarball + "!/" + name;
  }

  private Optional<Range> range(String name) {
    String current;
    try {
      current = ImageNames.checkRelative(name);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      Range r = files.get(current);
      if (r != null) {
        return Optional.of(r);
      }
      String target = links.get(current);
      if (target == null) {
        return Optional.empty();
      }
      try {
        current = ImageNames.checkRelative(target);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** The first {@code remaining} bytes of a stream; closing it closes the stream. */
  private static final class RangeInputStream extends FilterInputStream {
    private long remaining;

    RangeInputStream(InputStream in, long size) {
      super(in);
      this.remaining = size;
    }

    @Override
    public int read() throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int b = super.read();
      if (b >= 0) {
        remaining--;
      }
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int n = super.read(buf, off, (int) Math.min(len, remaining));
      if (n > 0) {
        remaining -= n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      long skipped = super.skip(Math.min(n, remaining));
      remaining -= skipped;
      return skipped;
    }

    @Override
    public int available() throws IOException {
      return (int) Math.min(super.available(), remaining);
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
