package io.herd.vm.image;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks images into root file systems, once per image digest: {@code
 * <cacheDir>/images/<digest hex>/rootfs}. Thread-safe; share one instance per process.
 *
 * <h2>Once, and never half</h2>
 *
 * A root file system is built in a temporary sibling ({@code .rootfs-<pid>-<random>}) and renamed
 * into place, so {@code rootfs} either does not exist or is complete: a gateway killed mid-unpack
 * leaves only a temporary directory, which the next unpack of that image removes once its process
 * is gone. Concurrent callers in this process for one image wait for a single unpack
 * (singleflight, by {@link #inFlight}); two processes may both unpack, and the loser of the rename
 * deletes its copy and uses the winner's.
 *
 * <h2>Permissions</h2>
 *
 * The directories this creates ({@code images/}, {@code images/<hex>/}) are private ({@code
 * 0700}): the root file system is read only by the gateway itself, which packs it into the
 * guest's initramfs, so no worker UID needs to reach it, and setuid files inside (kept when
 * running as root) are unreachable to other local users. Running as root, owners and
 * setuid/setgid bits are as the image says; otherwise files belong to the gateway's user and
 * setuid/setgid bits are dropped.
 */
public final class RootfsCache {

  private static final Logger log = LoggerFactory.getLogger(RootfsCache.class);

  /** {@code .rootfs-<pid>-<random>}: the pid tells whether its unpack may still be running. */
  private static final Pattern TEMP_NAME = Pattern.compile("\\.rootfs-(\\d+)-\\d+");

  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

  private final boolean asRoot;

  /** Unpacks in progress in this process, by target directory; removed when they end. */
  private final ConcurrentMap<Path, CompletableFuture<Path>> inFlight = new ConcurrentHashMap<>();

  /** A cache that keeps owners and setuid bits when this process runs as root. */
  public RootfsCache() {
    this(runningAsRoot());
  }

  /**
   * @param asRoot whether to chown entries to the image's owners and keep setuid/setgid bits
   *     (only root may); tests use {@code false} to see what an unprivileged gateway builds
   */
  RootfsCache(boolean asRoot) {
    this.asRoot = asRoot;
  }

  /**
   * The root file system of {@code image}, unpacked under {@code cacheDir} unless it already is.
   * Blocks until it is there, whether this call or a concurrent one unpacks it.
   *
   * @throws VmImageException when a layer cannot be read, fails its digest, or is hostile; nothing
   *     is left behind then
   */
  public Path unpack(OciImage image, Path cacheDir) {
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(cacheDir, "cacheDir");
    Path target = rootfsDir(cacheDir, image.digest()).toAbsolutePath().normalize();
    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      return target;
    }
    CompletableFuture<Path> mine = new CompletableFuture<>();
    CompletableFuture<Path> running = inFlight.putIfAbsent(target, mine);
    if (running != null) {
      return await(running, image);
    }
    try {
      // Checked again now that this call owns the unpack: one that ended between the first
      // check and putIfAbsent has renamed its result into place already.
      Path result =
          Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS) ? target : unpackOnce(image, target);
      mine.complete(result);
      return result;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.remove(target, mine);
    }
  }

  /** Where {@link #unpack} puts the root file system of the image with this digest. */
  public static Path rootfsDir(Path cacheDir, String imageDigest) {
    return imageDir(cacheDir, imageDigest).resolve("rootfs");
  }

  /**
   * The private ({@code 0700}) directory of the image with this digest, {@code
   * <cacheDir>/images/<digest hex>}: its {@code rootfs}, and a place for what else is derived from
   * the image (an initramfs). Names starting with {@code .rootfs-} are this cache's.
   */
  public static Path imageDir(Path cacheDir, String imageDigest) {
    BlobDigest digest =
        BlobDigest.parse(imageDigest)
            .orElseThrow(() -> new IllegalArgumentException("not an image digest: " + imageDigest));
    return cacheDir.resolve("images").resolve(digest.hex());
  }

  private Path unpackOnce(OciImage image, Path target) {
    Path imageDir = target.getParent();
    Path temp = null;
    long started = System.nanoTime();
    try {
      createPrivateDirectories(imageDir);
      removeAbandonedTemps(imageDir);
      // A random suffix, not a counter: two caches in one process must not pick the same name.
      temp = Files.createTempDirectory(imageDir, tempPrefix(), PRIVATE);
      RootfsWriter writer = new RootfsWriter(temp, asRoot);
      for (int i = 0; i < image.layers().size(); i++) {
        try (LayerStream layer = image.openLayer(i)) {
          try {
            writer.apply(layer.name(), layer.tar());
          } catch (VmImageException | IOException e) {
            try {
              layer.verifyAfterFailure();
            } catch (VmImageException mismatch) {
              mismatch.addSuppressed(e);
              throw mismatch;
            } catch (IOException | RuntimeException ignored) {
              e.addSuppressed(ignored);
            }
            throw e;
          }
          layer.finish();
        }
      }
      writer.finish();
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
          throw e;
        }
        log.debug("{} was unpacked by another process meanwhile; using that one", target);
        deleteQuietly(temp);
        return target;
      }
      log.info(
          "unpacked {} ({} layers) into {} in {} ms",
          image.source(),
          image.layers().size(),
          target,
          (System.nanoTime() - started) / 1_000_000);
      return target;
    } catch (VmImageException e) {
      deleteQuietly(temp);
      throw e;
    } catch (IOException | RuntimeException e) {
      deleteQuietly(temp);
      throw new VmImageException(
          image.source()
              + ": cannot unpack into "
              + imageDir
              + ": "
              + e
              + " — check that worker.vm.cacheDir is writable and has free space",
          e);
    }
  }

  private static void createPrivateDirectories(Path imageDir) throws IOException {
    Path images = imageDir.getParent();
    Files.createDirectories(images.getParent());
    for (Path dir : new Path[] {images, imageDir}) {
      if (!Files.isDirectory(dir)) {
        try {
          Files.createDirectory(dir, PRIVATE);
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // created by a concurrent unpack of another image, or by another process
        }
      }
    }
  }

  private static String tempPrefix() {
    return ".rootfs-" + ProcessHandle.current().pid() + "-";
  }

  /** Deletes temporary directories of unpacks whose process is gone (killed mid-unpack). */
  private static void removeAbandonedTemps(Path imageDir) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(imageDir, ".rootfs-*")) {
      for (Path p : ds) {
        Matcher m = TEMP_NAME.matcher(p.getFileName().toString());
        boolean ownerAlive =
            m.matches()
                && ProcessHandle.of(Long.parseLong(m.group(1)))
                    .map(ProcessHandle::isAlive)
                    .orElse(false);
        if (m.matches() && !ownerAlive) {
          log.info("removing {}, left by an unpack whose process is gone", p);
          deleteQuietly(p);
        }
      }
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    try {
      RecursiveDelete.delete(p);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", p, e.toString());
    }
  }

  private static Path await(CompletableFuture<Path> running, OciImage image) {
    try {
      return running.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VmImageException(
          image.source() + ": interrupted while waiting for its unpack by another thread", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      String message = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      throw new VmImageException(message, cause);
    }
  }

  private static boolean runningAsRoot() {
    try {
      // /proc/self belongs to the process's effective UID.
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }
}
