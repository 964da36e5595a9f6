package io.herd.vm.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** An image stored as a directory (an OCI image layout, or an unpacked docker-archive). */
final class DirectoryImageFiles implements ImageFiles {

  private final Path dir;

  DirectoryImageFiles(Path dir) {
    this.dir = dir;
  }

  @Override
  public Path source() {
    return dir;
  }

  @Override
  public Optional<Long> size(String name) throws IOException {
    Path file = resolve(name);
    return Files.isRegularFile(file) ? Optional.of(Files.size(file)) : Optional.empty();
  }

  @Override
  public InputStream open(String name) throws IOException {
    return Files.newInputStream(resolve(name));
  }

  @Override
  public String describe(String name) {
    return dir.resolve(name).toString();
  }

  private Path resolve(String name) {
    return dir.resolve(ImageNames.checkRelative(name));
  }
}
